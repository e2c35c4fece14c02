# Reads "go test -test.v" output (log lines stream under "=== RUN/CONT/NAME
# <test>"); prints the failed tests with a message other than wine's missing
# FileDispositionInformationEx (t.TempDir's cleanup: "Invalid function").
/^=== (RUN|CONT|NAME|PAUSE) / { name=$3; next }
/^ *--- FAIL: / { failed[$3]=1; next }
/^ *--- (PASS|SKIP): / { next }
name != "" && /\.go:[0-9]+: / && !/TempDir RemoveAll cleanup: .*Invalid function/ { real[name]=real[name] "\n      " $0 }
END { for (n in real) if (n in failed) { printf "  %s:%s\n", n, real[n]; bad=1 } exit bad }
