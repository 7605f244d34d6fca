// Command insights-pseudonym prints the pseudonyms of user ids under each key of the anonymization processor:
// what an erasure (`DELETE /api/v1/users/{pseudonym}`) or an opt-out needs, for a user known by name.
//
//	go run ./cmd/insights-pseudonym -key-file data/anonymization.key user:default/jdoe
//
// Keys come from key files ("<key id> <base64 secret>", as the processor generates them; repeat -key-file for
// the keys of a rotation) or from INSIGHTS_PSEUDONYM_KEYS ("k1=<secret>,k2=<secret>", the secrets as they are
// in the processor's configuration). Secrets are never taken from the command line, which other users of the
// machine can read.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/insights-collector/insights-collector/internal/pseudonym"
)

const keysEnv = "INSIGHTS_PSEUDONYM_KEYS"

type keyFiles []string

func (k *keyFiles) String() string     { return strings.Join(*k, ",") }
func (k *keyFiles) Set(v string) error { *k = append(*k, v); return nil }

func main() {
	if err := run(os.Args[1:], os.Getenv(keysEnv), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "insights-pseudonym:", err)
		os.Exit(2)
	}
}

func run(args []string, envKeys string, out io.Writer) error {
	fs := flag.NewFlagSet("insights-pseudonym", flag.ContinueOnError)
	var files keyFiles
	fs.Var(&files, "key-file", "a key file of the anonymization processor (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return fmt.Errorf("usage: insights-pseudonym [-key-file FILE]... USER_ID...")
	}
	keys, err := loadKeys(files, envKeys)
	if err != nil {
		return err
	}
	ring, err := pseudonym.NewKeyring(keys, keys[0].ID)
	if err != nil {
		return err
	}
	for _, id := range fs.Args() {
		all := ring.All(id)
		kids := make([]string, 0, len(all))
		for kid := range all {
			kids = append(kids, kid)
		}
		slices.Sort(kids)
		for _, kid := range kids {
			fmt.Fprintf(out, "%s\t%s\t%s\n", id, kid, all[kid])
		}
	}
	return nil
}

func loadKeys(files []string, envKeys string) ([]pseudonym.Key, error) {
	var keys []pseudonym.Key
	for _, f := range files {
		key, err := pseudonym.ReadKeyFile(f)
		if err != nil {
			return nil, err
		}
		keys = append(keys, key)
	}
	for _, pair := range strings.Split(envKeys, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		id, secret, ok := strings.Cut(strings.TrimSpace(pair), "=")
		if !ok {
			return nil, fmt.Errorf("%s: want id=secret pairs separated by commas", keysEnv)
		}
		keys = append(keys, pseudonym.Key{ID: id, Secret: []byte(secret)})
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("no key: give -key-file or set %s", keysEnv)
	}
	return keys, nil
}
