module github.com/anacrolix/go-utp

go 1.24

require github.com/anacrolix/go-libutp v1.3.2
