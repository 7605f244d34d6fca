package backstagereceiver

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
)

// authResult is the outcome of checking a request's Authorization header.
type authResult int

const (
	authOK      authResult = iota
	authMissing            // no Authorization header
	authInvalid            // a header that matches no credential
)

// authenticator checks the credentials of the config. Secrets are kept only as SHA-256 digests and looked up
// by digest, so comparing a presented secret takes the same time whatever it shares with a configured one.
type authenticator struct {
	bearer    map[[sha256.Size]byte]string // digest of the token → instance
	basic     map[[sha256.Size]byte]string // digest of "username:password" → instance
	writeKeys map[[sha256.Size]byte]string // digest of the write key → instance
	// open: a request without credentials passes (allow_anonymous, or no credentials are configured and an
	// auth extension already vouched for the request).
	open bool
	// headerOwnedByExtension: no credentials are configured, so an Authorization header is the auth extension's.
	headerOwnedByExtension bool
}

func newAuthenticator(cfg *Config) *authenticator {
	a := &authenticator{
		bearer:    map[[sha256.Size]byte]string{},
		basic:     map[[sha256.Size]byte]string{},
		writeKeys: map[[sha256.Size]byte]string{},
		open:      cfg.AllowAnonymous || len(cfg.Credentials) == 0,

		headerOwnedByExtension: len(cfg.Credentials) == 0,
	}
	for _, c := range cfg.Credentials {
		switch {
		case c.BearerToken != "":
			a.bearer[digest(string(c.BearerToken))] = c.Instance
		case c.WriteKey != "":
			a.writeKeys[digest(string(c.WriteKey))] = c.Instance
		default:
			a.basic[digest(c.Username+":"+string(c.Password))] = c.Instance
		}
	}
	return a
}

func digest(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// checkHeader checks an Authorization header; instance is the credential's instance binding ("" if none).
func (a *authenticator) checkHeader(header string) (instance string, res authResult) {
	if header == "" {
		if a.open {
			return "", authOK
		}
		return "", authMissing
	}
	scheme, value, _ := strings.Cut(header, " ")
	value = strings.TrimSpace(value)
	var ok bool
	switch strings.ToLower(scheme) {
	case "bearer":
		instance, ok = a.bearer[digest(value)]
	case "basic":
		instance, ok = a.checkBasic(value)
	}
	switch {
	case ok:
		return instance, authOK
	case a.headerOwnedByExtension:
		return "", authOK
	default:
		return "", authInvalid
	}
}

// checkBasic accepts a configured username and password, or a Segment write key as the username with an
// empty password.
func (a *authenticator) checkBasic(encoded string) (string, bool) {
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return "", false
	}
	user, password, _ := strings.Cut(string(raw), ":")
	if password == "" {
		if instance, ok := a.writeKeys[digest(user)]; ok {
			return instance, true
		}
	}
	instance, ok := a.basic[digest(string(raw))]
	return instance, ok
}

// checkWriteKey checks a Segment write key sent in the body.
func (a *authenticator) checkWriteKey(key string) (string, bool) {
	if key == "" {
		return "", false
	}
	instance, ok := a.writeKeys[digest(key)]
	return instance, ok
}
