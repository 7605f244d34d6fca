package backstagecatalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/internal/simulator"
)

func user(name string, memberOf ...string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"kind": "User", "metadata": map[string]any{"name": name, "namespace": "default"},
		"spec": map[string]any{"memberOf": memberOf}})
	return b
}

func group(name, typ, parent string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"kind": "Group", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"type": typ, "parent": parent, "profile": map[string]any{"displayName": name + " team"}}})
	return b
}

func TestSyncAcrossPages(t *testing.T) {
	fake := &simulator.CatalogServer{Token: "catalog-token-123"}
	fake.Entities = append(fake.Entities, json.RawMessage(`{"kind":"Component","metadata":{"name":"checkout"},"spec":{"owner":"payments"}}`),
		json.RawMessage(`{"kind":"API","metadata":{"name":"ledger","namespace":"finance"},"spec":{"owner":"user:default/u001"}}`), group("engineering", "department", ""), group("platform", "team", "engineering"),
		group("payments", "team", "engineering"), group("sre", "sub-team", "platform"),
		json.RawMessage(`{"kind":"User","metadata":"not an object"}`)) // malformed: skipped
	for i := range 250 {
		teams := []string{"payments"}
		if i%10 == 0 {
			teams = []string{"sre", "group:default/payments"} // in two teams, one of them nested
		}
		fake.Entities = append(fake.Entities, user(fmt.Sprintf("u%03d", i), teams...))
	}
	server := httptest.NewServer(fake)
	defer server.Close()
	c := &client{http: server.Client(), baseURL: server.URL, token: fake.Token, pageSize: 20}
	entities, err := c.fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 14, fake.Requests(), "255 users and groups in pages of 20, then the owned entities")

	s := buildSnapshot(entities)
	assert.Equal(t, 250, len(s.Users))
	assert.Equal(t, 1, s.Skipped)
	assert.Equal(t, []string{"group:default/payments", "group:default/sre"}, s.Users["user:default/u000"])
	sre := s.Groups["group:default/sre"]
	assert.Equal(t, []string{"group:default/platform", "group:default/engineering"}, sre.Ancestors)
	assert.Equal(t, 25, sre.DirectMembers)
	assert.Equal(t, 25, s.Groups["group:default/platform"].TotalMembers, "through sre")
	assert.Equal(t, 0, s.Groups["group:default/platform"].DirectMembers)
	assert.Equal(t, 250, s.Groups["group:default/payments"].TotalMembers)
	assert.Equal(t, 250, s.Groups["group:default/engineering"].TotalMembers, "each user once")
	assert.Equal(t, []string{"group:default/payments", "group:default/engineering", "group:default/sre", "group:default/platform"},
		s.Teams("User:Default/U000", true, nil))
	assert.Equal(t, "group:default/payments", s.Owner("Component:Default/Checkout"))
	assert.Equal(t, "user:default/u001", s.Owner("api:finance/ledger"))
	assert.Equal(t, []string{"group:default/payments", "group:default/platform"}, s.Teams("user:default/u000", true, []string{"team"}),
		"the teams among the groups and their ancestors")
}

func TestSyncFailures(t *testing.T) {
	fake := &simulator.CatalogServer{Token: "catalog-token-123", Entities: []json.RawMessage{user("ana", "ops")}}
	server := httptest.NewServer(fake)
	c := &client{http: server.Client(), baseURL: server.URL, token: "wrong-token", pageSize: 20}
	_, err := c.fetch(context.Background())
	assert.ErrorIs(t, err, ErrUnauthorized)

	server.Close() // the catalog is down
	c.token = fake.Token
	_, err = c.fetch(context.Background())
	assert.ErrorContains(t, err, "read page 1 of the catalog")
}

// The simulator's organisation, synced from its fake catalog: every user, the group tree, the denominators.
func TestSyncSimulatedOrganisation(t *testing.T) {
	cfg := simulator.DefaultConfig()
	world, err := simulator.NewWorld(cfg)
	require.NoError(t, err)
	fake := &simulator.CatalogServer{Token: "catalog-token-123", Entities: world.CatalogEntities()}
	server := httptest.NewServer(fake)
	defer server.Close()
	c := &client{http: server.Client(), baseURL: server.URL, token: fake.Token, pageSize: 50}
	entities, err := c.fetch(context.Background())
	require.NoError(t, err)
	s := buildSnapshot(entities)

	assert.Zero(t, s.Skipped)
	assert.Len(t, s.Users, cfg.Users)
	assert.Len(t, s.Groups, len(world.Groups))
	assert.Len(t, s.Owners, len(world.Entities))
	members := map[string]int{}
	for _, u := range world.Users {
		assert.ElementsMatch(t, u.Teams, s.Teams(u.Ref, false, nil))
		for _, team := range u.Teams {
			members[team]++
		}
	}
	for _, g := range world.Groups {
		got := s.Groups[g.Ref]
		require.NotNil(t, got, g.Ref)
		assert.Equal(t, g.Parent, got.Parent)
		assert.Equal(t, g.Type, got.Type)
		assert.Equal(t, members[g.Ref], got.DirectMembers, g.Ref)
	}
	assert.Equal(t, cfg.Users, s.Groups[world.Groups[0].Ref].TotalMembers, "the organisation counts everyone once")
	assert.Equal(t, world.Entities[0].Owner, s.Owner(world.Entities[0].Ref()))
}
