package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/smstorrent/smstorrent/internal/secfs"
)

// How a client knows that it talks to the service (docs/SECURITY.md):
//
// At every start the service makes a new Ed25519 key pair. The private key
// lives only in the service's memory; the public key goes into AddressFile
// next to the address, in a folder only SYSTEM/root can write. Before a
// client sends a token over a new connection, it sends a random challenge
// to PathProof on that connection; the service answers with a signature
// over the challenge and both ends of the connection as it sees them. The
// client checks the signature with the public key from the address file and
// the ends as it sees them. A program that binds the port after a crash (or
// relays to the real service from another port) cannot answer: the key of
// the dead service died with it, and a relayed signature names the relay's
// connection, not the client's.

// PathProof answers a challenge (no token needed).
const PathProof = "/api/v1/proof"

// ProofRoute documents PathProof; it is not in Routes because it needs no token.
var ProofRoute = Route{"GET", PathProof + "?challenge={base64url}", false,
	"The service proves it is the service: an Ed25519 signature over the challenge and the connection's two ends (no token)."}

// ProofResponse is the answer to PathProof.
type ProofResponse struct {
	Signature []byte `json:"signature"`
}

// ChallengeSize is the length of a challenge in bytes.
const ChallengeSize = 32

const proofContext = "SMSTorrent local API proof v1"

// ProofMessage is what the service signs: the challenge and the connection's
// server and client addresses (host:port as Go prints them).
func ProofMessage(challenge []byte, serverAddr, clientAddr string) []byte {
	var b bytes.Buffer
	b.WriteString(proofContext)
	b.WriteByte(0)
	b.Write(challenge)
	b.WriteByte(0)
	b.WriteString(serverAddr)
	b.WriteByte(0)
	b.WriteString(clientAddr)
	return b.Bytes()
}

// ErrNotService is wrapped by the error of a client whose server did not
// prove that it is the SMSTorrent service.
var ErrNotService = errors.New("not the SMSTorrent service")

// NotServiceError says which address failed the proof and why.
type NotServiceError struct {
	Addr   string
	Reason string
}

func (e *NotServiceError) Error() string {
	return fmt.Sprintf("the program listening at %s is %v (%s): no token was sent to it; "+
		"if the service is not running, another program holds its port", e.Addr, ErrNotService, e.Reason)
}

func (e *NotServiceError) Unwrap() error { return ErrNotService }

// IsNotService reports whether err says that the server failed the proof.
func IsNotService(err error) bool { return errors.Is(err, ErrNotService) }

// serviceKeyPrefix starts the key line of AddressFile.
const serviceKeyPrefix = "ed25519:"

// FormatAddressFile is the content of AddressFile: the address, then the
// service's public key.
func FormatAddressFile(addr string, key ed25519.PublicKey) []byte {
	return []byte(addr + "\n" + serviceKeyPrefix + base64.StdEncoding.EncodeToString(key) + "\n")
}

// ParseAddressFile reads AddressFile's content.
func ParseAddressFile(b []byte) (addr string, key ed25519.PublicKey, err error) {
	lines := strings.Fields(string(b))
	if len(lines) != 2 {
		return "", nil, errors.New("want two lines, the address and the service key")
	}
	if _, _, err := net.SplitHostPort(lines[0]); err != nil {
		return "", nil, fmt.Errorf("address %q: %v", lines[0], err)
	}
	k, ok := strings.CutPrefix(lines[1], serviceKeyPrefix)
	raw, err := base64.StdEncoding.DecodeString(k)
	if !ok || err != nil || len(raw) != ed25519.PublicKeySize {
		return "", nil, fmt.Errorf("service key %q is not %s<base64 of %d bytes>", lines[1], serviceKeyPrefix, ed25519.PublicKeySize)
	}
	return lines[0], ed25519.PublicKey(raw), nil
}

// readAddressFile returns the service's address and key from dataDir,
// after checking that no ordinary user could have written the file.
func readAddressFile(dataDir string) (string, ed25519.PublicKey, error) {
	p := filepath.Join(dataDir, AddressFile)
	b, err := os.ReadFile(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil, fmt.Errorf("%w (no %s in %s)", ErrServiceDown, AddressFile, dataDir)
		}
		return "", nil, fmt.Errorf("%w: %v", ErrServiceDown, err)
	}
	if err := secfs.CheckTrusted(p); err != nil {
		return "", nil, &NotServiceError{Addr: p, Reason: fmt.Sprintf("the address file is not trustworthy: %v", err)}
	}
	addr, key, err := ParseAddressFile(b)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %s: %v", ErrServiceDown, p, err)
	}
	return addr, key, nil
}

// proveTimeout bounds the proof exchange on a new connection.
const proveTimeout = 15 * time.Second

// proveService runs the challenge on conn before anything else is sent.
func proveService(ctx context.Context, conn net.Conn, addr string, key ed25519.PublicKey) error {
	fail := func(format string, args ...any) error {
		return &NotServiceError{Addr: addr, Reason: fmt.Sprintf(format, args...)}
	}
	deadline := time.Now().Add(proveTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	challenge := make([]byte, ChallengeSize)
	_, _ = rand.Read(challenge) // crypto/rand.Read never returns an error
	q := url.Values{"challenge": {base64.RawURLEncoding.EncodeToString(challenge)}}
	req := "GET " + PathProof + "?" + q.Encode() + " HTTP/1.1\r\nHost: " + addr + "\r\nUser-Agent: smstorrent-client\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		return fmt.Errorf("%w: %v", ErrServiceDown, err)
	}
	br := bufio.NewReaderSize(conn, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: %v", ErrServiceDown, err)
		}
		return fail("no HTTP answer to the challenge: %v", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4096))
	resp.Body.Close()
	if err != nil {
		return fail("reading the answer to the challenge: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fail("it answered the challenge with %s; an SMSTorrent service older than this program would too, and then needs an update", resp.Status)
	}
	if resp.Close || br.Buffered() != 0 {
		return fail("it did not keep the connection after the challenge")
	}
	var pr ProofResponse
	if err := json.Unmarshal(body, &pr); err != nil {
		return fail("bad answer to the challenge: %v", err)
	}
	msg := ProofMessage(challenge, conn.RemoteAddr().String(), conn.LocalAddr().String())
	if !ed25519.Verify(key, msg, pr.Signature) {
		return fail("its answer to the challenge is not signed with the key in %s", AddressFile)
	}
	return conn.SetDeadline(time.Time{})
}

// ProofHandler answers PathProof with key: the service's handler, and the
// one test fakes use to pass for the service.
func ProofHandler(key ed25519.PrivateKey) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(status int, msg string) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(ErrorBody{Error: msg, Code: CodeBadRequest})
		}
		ch, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("challenge"))
		if err != nil || len(ch) != ChallengeSize {
			fail(http.StatusBadRequest, fmt.Sprintf("challenge: want %d bytes in unpadded base64url", ChallengeSize))
			return
		}
		local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		if !ok {
			fail(http.StatusInternalServerError, "no local address for the proof")
			return
		}
		sig := ed25519.Sign(key, ProofMessage(ch, local.String(), r.RemoteAddr))
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(ProofResponse{Signature: sig})
	})
}
