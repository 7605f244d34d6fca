package backstagecatalog

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeCatalog serves entities as Backstage's /api/catalog/entities/by-query does: Bearer auth, kind filters on
// the first request, then an opaque cursor (which carries the filters: later requests send none), a page size.
type fakeCatalog struct {
	token    string
	entities []json.RawMessage
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
	} else if fmt.Sprint(q["filter"]) != "[kind=user kind=group]" || q.Get("fields") == "" {
		http.Error(w, "want the user and group filters and a projection", http.StatusBadRequest)
		return
	}
	limit, _ := strconv.Atoi(q.Get("limit"))
	end := min(offset+limit, len(f.entities))
	page := map[string]any{"items": f.entities[offset:end], "totalItems": len(f.entities), "pageInfo": map[string]any{}}
	if end < len(f.entities) {
		page["pageInfo"] = map[string]any{"nextCursor": strconv.Itoa(end)}
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
	assert.Equal(t, 13, fake.requests, "255 entities in pages of 20")

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
