// Package loopback finds free ports on 127.0.0.1 for the tests and benchmarks, which only ever listen and send
// on loopback.
package loopback

import "net"

// FreeAddress returns a 127.0.0.1:port that was free a moment ago.
func FreeAddress() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
