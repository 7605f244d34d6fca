package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func getCatalog(t *testing.T, server *httptest.Server, token string, q url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, server.URL+"/api/catalog/entities/by-query?"+q.Encode(), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := server.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

func TestCatalogServerContract(t *testing.T) {
	w := testWorld(t)
	fake := &CatalogServer{Token: "token-0123", Entities: w.CatalogEntities()}
	server := httptest.NewServer(fake)
	defer server.Close()

	status, body := getCatalog(t, server, "wrong", url.Values{})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Equal(t, "AuthenticationError", body["error"].(map[string]any)["name"])

	// Groups of type team, page by page, projected; the cursor carries the filter.
	q := url.Values{"filter": {"kind=group,spec.type=team"}, "fields": {"metadata.name,spec.parent"}, "limit": {"5"}, "orderField": {"metadata.name,asc"}}
	var names []string
	for page := 0; ; page++ {
		require.Less(t, page, 10)
		status, body = getCatalog(t, server, fake.Token, q)
		require.Equal(t, http.StatusOK, status, body)
		assert.EqualValues(t, len(w.Teams), body["totalItems"])
		for _, item := range body["items"].([]any) {
			e := item.(map[string]any)
			assert.NotContains(t, e, "kind", "projected away")
			assert.Contains(t, e["spec"], "parent")
			names = append(names, e["metadata"].(map[string]any)["name"].(string))
		}
		next, _ := body["pageInfo"].(map[string]any)["nextCursor"].(string)
		if next == "" {
			break
		}
		status, _ = getCatalog(t, server, fake.Token, url.Values{"cursor": {next}, "filter": {"kind=user"}})
		assert.Equal(t, http.StatusBadRequest, status, "a cursor with a filter")
		q = url.Values{"cursor": {next}, "fields": q["fields"], "limit": {"5"}}
	}
	assert.Len(t, names, len(w.Teams))
	assert.IsIncreasing(t, names)

	status, body = getCatalog(t, server, fake.Token, url.Values{"filter": {"spec.owner"}, "limit": {"1000"}})
	assert.Equal(t, http.StatusOK, status)
	assert.Len(t, body["items"], len(w.Entities), "only the owned entities")
	status, _ = getCatalog(t, server, fake.Token, url.Values{"cursor": {"not-a-cursor"}})
	assert.Equal(t, http.StatusBadRequest, status)
}

// The groups form one tree: every team under a department under the organisation.
func TestGroupTree(t *testing.T) {
	w := testWorld(t)
	types := map[string]string{}
	for _, g := range w.Groups {
		types[g.Ref] = g.Type
	}
	for _, g := range w.Groups {
		switch g.Type {
		case GroupOrganisation:
			assert.Empty(t, g.Parent)
		case GroupDepartment:
			assert.Equal(t, GroupOrganisation, types[g.Parent])
		case GroupTeam:
			assert.Equal(t, GroupDepartment, types[g.Parent], g.Ref)
		}
	}
	assert.Len(t, w.Groups, 1+3+len(w.Teams), "12 teams in departments of 4")
}
