package signature

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The vectors come from the Standard Webhooks reference libraries
// (reference/standard-webhooks.md); S2 of the field reports is the first.
var vectors = []struct {
	name, secret, id string
	ts               int64
	body, want       string
}{
	{
		name:   "S2 reference vector",
		secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		id:     "msg_p5jXN8AQM9LWM0D4loKWxJek",
		ts:     1614265330,
		body:   `{"test": 2432232314}`,
		want:   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
	},
	{
		name:   "Rust reference vector",
		secret: "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
		id:     "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
		ts:     1649367553,
		body:   `{"email":"test@example.com","username":"test_user"}`,
		want:   "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=",
	},
}

func TestSignVectors(t *testing.T) {
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			s, err := NewSigner(v.secret)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Sign(v.id, time.Unix(v.ts, 0), []byte(v.body))
			if got != v.want {
				t.Fatalf("Sign = %q, want %q", got, v.want)
			}

			key, _ := ParseSecret(v.secret)
			now := time.Unix(v.ts, 0)
			err = Verify(key, v.id, Timestamp(now), v.want, []byte(v.body), now, DefaultTolerance)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestParseSecret(t *testing.T) {
	tests := []struct {
		in      string
		wantLen int // 0 means an error is expected
	}{
		{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 24},
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 24}, // bare base64
		{"whsec_" + strings.Repeat("A", 84) + "AA==", 64},
		{"whsec_" + strings.Repeat("A", 84) + "AAA=", 0}, // 65 bytes: too long
		{"whsec_AAAA", 0}, // 3 bytes: too short
		{"whsec_not base64!", 0},
		{"", 0},
	}
	for _, tt := range tests {
		key, err := ParseSecret(tt.in)
		if tt.wantLen == 0 {
			if err == nil {
				t.Errorf("ParseSecret(%q) = %d bytes, want an error", tt.in, len(key))
			}
			continue
		}
		if err != nil || len(key) != tt.wantLen {
			t.Errorf("ParseSecret(%q) = %d bytes, %v; want %d bytes", tt.in, len(key), err, tt.wantLen)
		}
	}
}

func TestNewSecretRoundTrip(t *testing.T) {
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two new secrets are equal")
	}
	if !strings.HasPrefix(a, SecretPrefix) {
		t.Fatalf("NewSecret() = %q, want the whsec_ prefix", a)
	}
	key, err := ParseSecret(a)
	if err != nil || len(key) != 32 {
		t.Fatalf("ParseSecret(NewSecret()) = %d bytes, %v; want 32", len(key), err)
	}
}

func TestRotationSignsWithEverySecret(t *testing.T) {
	current, old := NewSecret(), NewSecret()
	s, err := NewSigner(current, old)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	body := []byte(`{"k":1}`)
	header := s.Sign("msg_1", now, body)

	if n := len(strings.Split(header, " ")); n != 2 {
		t.Fatalf("header %q has %d entries, want 2", header, n)
	}
	for _, secret := range []string{current, old} {
		key, _ := ParseSecret(secret)
		if err := Verify(key, "msg_1", Timestamp(now), header, body, now, DefaultTolerance); err != nil {
			t.Errorf("secret %s does not verify: %v", secret, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	v := vectors[0]
	key, _ := ParseSecret(v.secret)
	signedAt := time.Unix(v.ts, 0)
	ts := Timestamp(signedAt)
	otherKey, _ := ParseSecret(NewSecret())

	tests := []struct {
		name      string
		key       []byte
		id, ts    string
		header    string
		body      string
		now       time.Time
		wantError error
	}{
		{"tampered body", key, v.id, ts, v.want, `{"test": 2432232315}`, signedAt, ErrNoMatch},
		{"other id", key, "msg_other", ts, v.want, v.body, signedAt, ErrNoMatch},
		{"other secret", otherKey, v.id, ts, v.want, v.body, signedAt, ErrNoMatch},
		{"unknown version", key, v.id, ts, "v2," + v.want[3:], v.body, signedAt, ErrNoMatch},
		{"empty header", key, v.id, ts, "", v.body, signedAt, ErrNoMatch},
		{"timestamp too old", key, v.id, ts, v.want, v.body, signedAt.Add(5*time.Minute + time.Second), ErrTimestamp},
		{"timestamp in future", key, v.id, ts, v.want, v.body, signedAt.Add(-5*time.Minute - time.Second), ErrTimestamp},
		{"malformed timestamp", key, v.id, "16142653x0", v.want, v.body, signedAt, ErrTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.key, tt.id, tt.ts, tt.header, []byte(tt.body), tt.now, DefaultTolerance)
			if !errors.Is(err, tt.wantError) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantError)
			}
		})
	}
}

func TestVerifyAcceptsWithinTolerance(t *testing.T) {
	v := vectors[0]
	key, _ := ParseSecret(v.secret)
	signedAt := time.Unix(v.ts, 0)
	for _, skew := range []time.Duration{-5 * time.Minute, 0, 5 * time.Minute} {
		err := Verify(key, v.id, Timestamp(signedAt), "v1,bogus "+v.want, []byte(v.body),
			signedAt.Add(skew), DefaultTolerance)
		if err != nil {
			t.Errorf("skew %s: Verify = %v, want nil", skew, err)
		}
	}
}

func TestNilSignerSignsNothing(t *testing.T) {
	var s *Signer
	if got := s.Sign("msg_1", time.Unix(1, 0), nil); got != "" {
		t.Fatalf("nil Signer.Sign = %q, want empty", got)
	}
}
