// Package pseudonym turns user identifiers into keyed pseudonyms: HMAC-SHA256 of the canonical identifier under
// a secret key, encoded compactly and prefixed with the key's id ("k1.3q2-7wVbXf0yH1c9dQvS8A"). The same key gives
// the same pseudonym on every replica and after every restart; without the key a pseudonym cannot be linked to
// its user, not even by hashing a list of candidate names (as an unkeyed hash can be). The key id lets keys
// rotate: a rotation is a new id, so pseudonyms of the old key are recognised as such, never silently mixed.
package pseudonym

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"regexp"
	"strings"
	"sync"
)

// MinKeyBytes is the shortest secret accepted: HMAC-SHA256's block of security (RFC 2104 recommends at least
// the hash's output length).
const MinKeyBytes = 32

// digestBytes is how much of the HMAC a pseudonym keeps: 128 bits, far beyond any collision among the users of
// one organisation, in 22 characters.
const digestBytes = 16

// Separator joins the key id and the digest. Base64url and key ids never contain it, and entity names may, so
// that a pseudonym can stand in for the name of a user ref ("user:default/k1.3q2-…").
const Separator = "."

var keyIDPattern = regexp.MustCompile(`^[a-z0-9]{1,16}$`)

// Key is one secret and its id.
type Key struct {
	ID     string
	Secret []byte
}

// Keyring holds the active key, which makes new pseudonyms, and the older ones, which are still recognised.
type Keyring struct {
	active string
	pools  map[string]*sync.Pool // per key id: HMAC states, reused (building one costs two SHA-256 block hashes)
}

// NewKeyring checks the keys and returns a keyring whose active key is the one named.
func NewKeyring(keys []Key, active string) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("no key")
	}
	k := &Keyring{active: active, pools: map[string]*sync.Pool{}}
	for _, key := range keys {
		if err := ValidateKey(key); err != nil {
			return nil, err
		}
		if _, dup := k.pools[key.ID]; dup {
			return nil, fmt.Errorf("key id %q appears twice", key.ID)
		}
		secret := key.Secret
		k.pools[key.ID] = &sync.Pool{New: func() any { return hmac.New(sha256.New, secret) }}
	}
	if _, ok := k.pools[active]; !ok {
		return nil, fmt.Errorf("the active key %q is not among the keys", active)
	}
	return k, nil
}

// ValidateKey checks a key's id and secret length.
func ValidateKey(key Key) error {
	if !keyIDPattern.MatchString(key.ID) {
		return fmt.Errorf("key id %q: want 1 to 16 lower-case letters and digits", key.ID)
	}
	if len(key.Secret) < MinKeyBytes {
		return fmt.Errorf("key %q: the secret has %d bytes, want at least %d", key.ID, len(key.Secret), MinKeyBytes)
	}
	return nil
}

// ActiveKeyID is the id of the key that makes new pseudonyms.
func (k *Keyring) ActiveKeyID() string { return k.active }

// Of returns the pseudonym of an identifier under the active key; the identifier is canonicalised first
// (Canonical), so every spelling of one user ref gives one pseudonym.
func (k *Keyring) Of(id string) string { return k.under(k.active, Canonical(id)) }

// All returns the pseudonyms of an identifier under every key, by key id: what an erasure must look for after
// a rotation.
func (k *Keyring) All(id string) map[string]string {
	canonical := Canonical(id)
	out := make(map[string]string, len(k.pools))
	for kid := range k.pools {
		out[kid] = k.under(kid, canonical)
	}
	return out
}

// KeyID returns the key id of a pseudonym made by one of the keyring's keys, and false for anything else.
func (k *Keyring) KeyID(p string) (string, bool) {
	kid, digest, ok := strings.Cut(p, Separator)
	if !ok || len(digest) != base64.RawURLEncoding.EncodedLen(digestBytes) {
		return "", false
	}
	_, known := k.pools[kid]
	return kid, known
}

func (k *Keyring) under(kid, canonical string) string {
	pool := k.pools[kid]
	h := pool.Get().(hash.Hash)
	h.Reset()
	h.Write([]byte(canonical))
	var sum [sha256.Size]byte
	digest := h.Sum(sum[:0])
	pool.Put(h)
	buf := make([]byte, len(kid)+len(Separator)+base64.RawURLEncoding.EncodedLen(digestBytes))
	n := copy(buf, kid)
	n += copy(buf[n:], Separator)
	base64.RawURLEncoding.Encode(buf[n:], digest[:digestBytes])
	return string(buf)
}

// Canonical is the form of a user identifier that is hashed. Backstage entity refs are case-insensitive and
// default their kind and namespace, so "JDoe", "user:jdoe" and "User:Default/jdoe" are all "user:default/jdoe".
// Anything that is not a user ref (an e-mail address, a Segment user id with a colon or slash in it) is only
// lower-cased when it is an e-mail address, and otherwise hashed as it is.
func Canonical(id string) string {
	id = strings.TrimSpace(id)
	if strings.Contains(id, "@") {
		return strings.ToLower(id)
	}
	ref, ok := ParseUserRef(id)
	if !ok {
		return id
	}
	return "user:" + strings.ToLower(ref.Namespace) + "/" + strings.ToLower(ref.Name)
}

// UserRef is a parsed user entity ref, as written (refs compare case-insensitively).
type UserRef struct{ Namespace, Name string }

// ParseUserRef parses "[user:][namespace/]name"; false for refs of another kind or malformed ones.
func ParseUserRef(s string) (UserRef, bool) {
	rest := s
	if kind, after, ok := strings.Cut(s, ":"); ok {
		if !strings.EqualFold(kind, "user") {
			return UserRef{}, false
		}
		rest = after
	}
	ns, name, hasNS := strings.Cut(rest, "/")
	if !hasNS {
		ns, name = "default", rest
	}
	if !validRefPart(ns) || !validRefPart(name) {
		return UserRef{}, false
	}
	return UserRef{ns, name}, true
}

// validRefPart: Backstage names and namespaces are [a-zA-Z0-9] separated by [-_.], at most 63 characters.
func validRefPart(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
