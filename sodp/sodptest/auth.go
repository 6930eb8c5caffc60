package sodptest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Token returns an HS256 JWT signed with WithAuth's secret, with claims
// "sub", "iat" (now, whole seconds) and "exp" (now + ttl, with millisecond
// precision, so short ttls are exact). A ttl of zero or less gives a token
// that is already expired. Without WithAuth the token is signed with an
// empty key (and the server ignores AUTH frames).
func (s *Server) Token(sub string, ttl time.Duration) string {
	now := time.Now()
	exp := float64(now.Add(ttl).UnixMilli()) / 1000
	return s.TokenClaims(map[string]any{"sub": sub, "iat": now.Unix(), "exp": exp})
}

// TokenClaims returns an HS256 JWT with exactly the given claims, signed
// with WithAuth's secret, for tests of malformed tokens (no "sub", a string
// "exp" …). Claims that do not encode as JSON are dropped.
func (s *Server) TokenClaims(claims map[string]any) string {
	return signHS256(s.cfg.secret, claims)
}

func signHS256(secret []byte, claims map[string]any) string {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, err := json.Marshal(claims)
	if err != nil {
		clean := make(map[string]any, len(claims))
		for k, v := range claims {
			if _, err := json.Marshal(v); err == nil {
				clean[k] = v
			}
		}
		payload, _ = json.Marshal(clean)
	}
	signing := header + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// verifyHS256 checks a token and returns its subject and expiry.
func verifyHS256(secret []byte, token string, now time.Time) (sub string, exp time.Time, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", time.Time{}, errors.New("token is not a JWT")
	}
	enc := base64.RawURLEncoding
	hb, err := enc.DecodeString(parts[0])
	if err != nil {
		return "", time.Time{}, errors.New("bad token header encoding")
	}
	var header struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &header) != nil {
		return "", time.Time{}, errors.New("bad token header")
	}
	if header.Alg != "HS256" {
		return "", time.Time{}, fmt.Errorf("token algorithm %q is not HS256", header.Alg)
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return "", time.Time{}, errors.New("bad token signature encoding")
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return "", time.Time{}, errors.New("bad token signature")
	}
	pb, err := enc.DecodeString(parts[1])
	if err != nil {
		return "", time.Time{}, errors.New("bad token payload encoding")
	}
	var claims map[string]any
	if json.Unmarshal(pb, &claims) != nil {
		return "", time.Time{}, errors.New("bad token payload")
	}
	sub, ok := claims["sub"].(string)
	if !ok || sub == "" {
		return "", time.Time{}, errors.New(`token has no "sub"`)
	}
	e, ok := claims["exp"].(float64)
	if !ok || math.IsNaN(e) || math.IsInf(e, 0) {
		return "", time.Time{}, errors.New(`token has no numeric "exp"`)
	}
	e = min(max(e, 0), 1e12) // keep the conversion below in range
	exp = time.UnixMilli(int64(math.Round(e * 1000)))
	if !now.Before(exp) {
		return "", time.Time{}, errors.New("token expired")
	}
	return sub, exp, nil
}
