package pkgsign

import (
	"bytes"
	"testing"
)

// FuzzVerify checks that no .torrent upload crashes Verify and that
// nothing unsigned by the trusted key is ever accepted.
func FuzzVerify(f *testing.F) {
	key, err := GenerateKey()
	if err != nil {
		f.Fatal(err)
	}
	trusted := []PublicKey{key.Public()}
	seed := func(b []byte) { f.Add(b) }
	seed(nil)
	seed([]byte("de"))
	seed([]byte("d4:infod4:name3:PS16:lengthi1e12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaa7:privatei1eee"))
	seed(bytes.Repeat([]byte("l"), 1000))
	seed([]byte("d10:smstorrentd1:vi1e2:id3:PS17:version1:16:signer32:" + string(make([]byte, 32)) + "3:sig64:" + string(make([]byte, 64)) + "ee"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := Verify(b, trusted)
		if err == nil && !p.Signer.Equal(key.Public()) {
			t.Fatalf("accepted a torrent signed by %v", p.Signer)
		}
		_, _ = Inspect(b)
	})
}
