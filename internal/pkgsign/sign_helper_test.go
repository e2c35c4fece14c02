package pkgsign

import "crypto/ed25519"

func signBytes(k PrivateKey, msg []byte) []byte { return ed25519.Sign(ed25519.PrivateKey(k), msg) }
