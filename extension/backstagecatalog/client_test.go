package backstagecatalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCatalog serves entities as Backstage's /api/catalog/entities/by-query does: Bearer auth, kind filters on
// the first request, then an opaque cursor (which carries the filters: later requests send none), a page size.
type fakeCatalog struct {
	token    string
	entities []json.RawMessage // users and groups
	owned    []json.RawMessage // entities with an owner
	requests int
}

func (f *fakeCatalog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests++
	if r.URL.Path != "/api/catalog/entities/by-query" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"name":"AuthenticationError","message":"Missing credentials"}}`))
		return
	}
	q := r.URL.Query()
	offset := 0
	if c := q.Get("cursor"); c != "" {
		if len(q["filter"]) > 0 {
			http.Error(w, "filter and cursor together", http.StatusBadRequest)
			return
		}
		offset, _ = strconv.Atoi(c)
	} else if q.Get("fields") == "" {
		http.Error(w, "want a projection", http.StatusBadRequest)
		return
	}
	entities, cursorPrefix := f.entities, ""
	if q.Get("cursor") != "" && q.Get("cursor")[0] == 'o' || fmt.Sprint(q["filter"]) == "[spec.owner]" { // the owned entities
		entities, cursorPrefix = f.owned, "o"
		offset, _ = strconv.Atoi(strings.TrimPrefix(q.Get("cursor"), "o"))
	} else if q.Get("cursor") == "" && fmt.Sprint(q["filter"]) != "[kind=user kind=group]" {
		http.Error(w, "want the user and group filters, or the owned entities", http.StatusBadRequest)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	end := min(offset+limit, len(entities))
	page := map[string]any{"items": entities[offset:end], "totalItems": len(entities), "pageInfo": map[string]any{}}
	if end < len(entities) {
		page["pageInfo"] = map[string]any{"nextCursor": cursorPrefix + strconv.Itoa(end)}
	}
	_ = json.NewEncoder(w).Encode(page)
}

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
	fake := &fakeCatalog{token: "catalog-token-123"}
	fake.owned = []json.RawMessage{json.RawMessage(`{"kind":"Component","metadata":{"name":"checkout"},"spec":{"owner":"payments"}}`),
		json.RawMessage(`{"kind":"API","metadata":{"name":"ledger","namespace":"finance"},"spec":{"owner":"user:default/u001"}}`)}
	fake.entities = append(fake.entities, group("engineering", "department", ""), group("platform", "team", "engineering"),
		group("payments", "team", "engineering"), group("sre", "sub-team", "platform"),
		json.RawMessage(`{"kind":"User","metadata":"not an object"}`)) // malformed: skipped
	for i := range 250 {
		teams := []string{"payments"}
		if i%10 == 0 {
			teams = []string{"sre", "group:default/payments"} // in two teams, one of them nested
		}
		fake.entities = append(fake.entities, user(fmt.Sprintf("u%03d", i), teams...))
	}
	server := httptest.NewServer(fake)
	defer server.Close()
	c := &client{http: server.Client(), baseURL: server.URL, token: fake.token, pageSize: 20}
	entities, err := c.fetch(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 14, fake.requests, "255 users and groups in pages of 20, then the owned entities")

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
	fake := &fakeCatalog{token: "catalog-token-123", entities: []json.RawMessage{user("ana", "ops")}}
	server := httptest.NewServer(fake)
	c := &client{http: server.Client(), baseURL: server.URL, token: "wrong-token", pageSize: 20}
	_, err := c.fetch(context.Background())
	assert.ErrorIs(t, err, ErrUnauthorized)

	server.Close() // the catalog is down
	c.token = fake.token
	_, err = c.fetch(context.Background())
	assert.ErrorContains(t, err, "read page 1 of the catalog")
}
