package pseudonym

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// GeneratedKeyID is the id of a key generated into a key file.
const GeneratedKeyID = "k1"

// LoadOrCreateKeyFile reads a key file, or writes a new random key there (mode 0600) when there is none.
func LoadOrCreateKeyFile(path string) (Key, error) {
	key, err := ReadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createKeyFile(path)
	}
	return key, err
}

// ReadKeyFile reads a key file: one line, "<key id> <base64 secret>".
func ReadKeyFile(path string) (Key, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("read key file %q: %w", path, err)
	}
	id, encoded, ok := strings.Cut(strings.TrimSpace(string(raw)), " ")
	if !ok {
		return Key{}, fmt.Errorf("key file %q: want \"<key id> <base64 secret>\"", path)
	}
	secret, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return Key{}, fmt.Errorf("key file %q: the secret is not base64: %w", path, err)
	}
	key := Key{ID: id, Secret: secret}
	if err := ValidateKey(key); err != nil {
		return Key{}, fmt.Errorf("key file %q: %w", path, err)
	}
	return key, nil
}

func createKeyFile(path string) (Key, error) {
	key := Key{ID: GeneratedKeyID, Secret: make([]byte, MinKeyBytes)}
	if _, err := rand.Read(key.Secret); err != nil {
		return Key{}, fmt.Errorf("generate a key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return Key{}, fmt.Errorf("create the key file's directory: %w", err)
	}
	// O_EXCL: two collectors starting at once on one directory must not each write a key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ReadKeyFile(path) // another process was first
	}
	if err != nil {
		return Key{}, fmt.Errorf("create key file %q: %w", path, err)
	}
	_, err = fmt.Fprintf(f, "%s %s\n", key.ID, base64.StdEncoding.EncodeToString(key.Secret))
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return Key{}, fmt.Errorf("write key file %q: %w", path, err)
	}
	return key, nil
}
