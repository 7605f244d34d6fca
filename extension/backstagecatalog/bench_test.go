package backstagecatalog

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/insights-collector/insights-collector/internal/simulator"
)

// BenchmarkSync reads a catalog of 20,000 users in 2,000 groups (in a tree of 3 levels) from a loopback fake
// in pages of 500 and builds the snapshot: "ms/sync" is the number to read.
func BenchmarkSync(b *testing.B) {
	fake := &simulator.CatalogServer{Token: "catalog-token-123"}
	for g := range 2000 {
		parent := ""
		if g >= 20 {
			parent = fmt.Sprintf("g%04d", g/10)
		}
		fake.Entities = append(fake.Entities, group(fmt.Sprintf("g%04d", g), "team", parent))
	}
	for u := range 20_000 {
		fake.Entities = append(fake.Entities, user(fmt.Sprintf("u%05d", u), fmt.Sprintf("g%04d", u%2000)))
	}
	server := httptest.NewServer(fake)
	defer server.Close()
	c := &client{http: server.Client(), baseURL: server.URL, token: fake.Token, pageSize: 500}
	var s *Snapshot
	for b.Loop() {
		entities, err := c.fetch(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		s = buildSnapshot(entities)
	}
	if len(s.Users) != 20_000 || s.Groups["group:default/g0000"].TotalMembers == 0 {
		b.Fatal("incomplete snapshot")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/sync")
}
