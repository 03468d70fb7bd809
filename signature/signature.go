// Package signature implements the symmetric (v1) scheme of Standard
// Webhooks: HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>",
// sent as "v1,<base64>" in the webhook-signature header.
//
// A secret is shown to users as "whsec_" followed by the standard base64 of
// 24 to 64 random bytes; the HMAC key is the decoded bytes, not the text.
//
// Known gaps: the asymmetric scheme (v1a, ed25519) is not implemented; none
// of the reference libraries implement it yet either.
package signature

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of the scheme. Receivers compare names case-insensitively.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a Standard Webhooks symmetric secret.
const SecretPrefix = "whsec_"

// Secret lengths in bytes allowed by the scheme.
const (
	MinSecretBytes = 24
	MaxSecretBytes = 64
)

// DefaultTolerance is how far a timestamp may be from the receiver's clock,
// in either direction; every reference library uses five minutes.
const DefaultTolerance = 5 * time.Minute

// Verification errors, compared with errors.Is.
var (
	// ErrTimestamp means the timestamp is missing, malformed or outside the
	// tolerance.
	ErrTimestamp = errors.New("webhook timestamp invalid or outside tolerance")
	// ErrNoMatch means no v1 entry of the signature header verifies.
	ErrNoMatch = errors.New("no matching webhook signature")
)

// ParseSecret returns the HMAC key of s: "whsec_" + base64, or bare base64
// as the reference Go library also accepts. The key must be 24 to 64 bytes.
func ParseSecret(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, SecretPrefix))
	if err != nil {
		return nil, fmt.Errorf("parsing webhook secret: %w", err)
	}
	if len(key) < MinSecretBytes || len(key) > MaxSecretBytes {
		return nil, fmt.Errorf("parsing webhook secret: key is %d bytes, want %d to %d",
			len(key), MinSecretBytes, MaxSecretBytes)
	}
	return key, nil
}

// NewSecret returns a fresh secret of 32 random bytes in "whsec_" form.
func NewSecret() string {
	key := make([]byte, 32)
	// crypto/rand.Read never fails on supported platforms (it panics
	// rather than return weak bytes), so the error is not checked.
	_, _ = rand.Read(key)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// Signer signs webhook attempts. Secrets[0] is the current secret; any
// others are older secrets still valid during a rotation. Every secret
// signs, so receivers holding either the old or the new one accept.
type Signer struct {
	Secrets [][]byte
}

// NewSigner parses secrets (current first) into a Signer.
func NewSigner(secrets ...string) (*Signer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("new signer: no secret given")
	}
	s := &Signer{}
	for _, text := range secrets {
		key, err := ParseSecret(text)
		if err != nil {
			return nil, err
		}
		s.Secrets = append(s.Secrets, key)
	}
	return s, nil
}

// Sign returns the webhook-signature value for one attempt: one "v1,<b64>"
// entry per secret, separated by single spaces. A nil Signer or one without
// secrets returns "". The id must not contain "." (a delivery id never
// does); the timestamp is ts in Unix seconds.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	if s == nil {
		return ""
	}
	entries := make([]string, len(s.Secrets))
	for i, key := range s.Secrets {
		entries[i] = "v1," + sign(key, id, Timestamp(ts), body)
	}
	return strings.Join(entries, " ")
}

// Timestamp formats ts as the webhook-timestamp value: Unix seconds.
func Timestamp(ts time.Time) string {
	return strconv.FormatInt(ts.Unix(), 10)
}

// Verify checks a received webhook as a receiver would: the timestamp must
// be within tolerance of now, and one v1 entry of signatureHeader must be
// the HMAC of id, timestamp and the exact body bytes under secret. The
// comparison is constant-time. Tests use it to check what Hookflow sends.
func Verify(secret []byte, id, timestamp, signatureHeader string, body []byte,
	now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q", ErrTimestamp, timestamp)
	}
	if skew := now.Sub(time.Unix(sec, 0)); skew > tolerance || skew < -tolerance {
		return fmt.Errorf("%w: %s off", ErrTimestamp, skew)
	}

	want := []byte(sign(secret, id, timestamp, body))
	for _, entry := range strings.Split(signatureHeader, " ") {
		version, got, ok := strings.Cut(entry, ",")
		if ok && version == "v1" && subtle.ConstantTimeCompare([]byte(got), want) == 1 {
			return nil
		}
	}
	return ErrNoMatch
}

// sign returns the base64 HMAC-SHA256 of "id.timestamp.body" under key.
func sign(key []byte, id, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}
