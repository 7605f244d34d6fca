package backstagecatalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// fields is the projection the sync asks the catalog for: only what team analytics needs.
const fields = "kind,metadata.name,metadata.namespace,spec.profile.displayName,spec.memberOf,spec.parent,spec.type,relations"

// maxPages bounds a sync (a catalog that keeps returning a next cursor is broken, not large).
const maxPages = 100_000

// client reads Users and Groups from <baseURL>/api/catalog/entities/by-query, page by page.
type client struct {
	http     *http.Client
	baseURL  string
	token    string
	pageSize int
}

// ErrUnauthorized is the catalog refusing the token.
var ErrUnauthorized = errors.New("the catalog refused the token: check backend.auth.externalAccess (a static token with access to the catalog plugin)")

// ownerFields is the projection of the entities that have an owner.
const ownerFields = "kind,metadata.name,metadata.namespace,spec.owner"

// fetch reads every User and Group, then every entity with an owner; it fails as a whole (never a partial
// catalog).
func (c *client) fetch(ctx context.Context) ([]entity, error) {
	people, err := c.fetchAll(ctx, []string{"kind=user", "kind=group"}, fields)
	if err != nil {
		return nil, err
	}
	owned, err := c.fetchAll(ctx, []string{"spec.owner"}, ownerFields)
	if err != nil {
		return nil, fmt.Errorf("owned entities: %w", err)
	}
	return append(people, owned...), nil
}

// fetchAll reads the entities matching any of the filters, page by page.
func (c *client) fetchAll(ctx context.Context, filters []string, fields string) ([]entity, error) {
	q := url.Values{"filter": filters}
	q.Set("fields", fields)
	q.Set("limit", strconv.Itoa(c.pageSize))
	q.Set("orderField", "metadata.name,asc")
	var all []entity
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fmt.Errorf("the catalog returned more than %d pages", maxPages)
		}
		items, next, err := c.page(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("read page %d of the catalog: %w", page+1, err)
		}
		all = append(all, items...)
		if next == "" {
			return all, nil
		}
		q = url.Values{"cursor": {next}, "fields": {fields}, "limit": {strconv.Itoa(c.pageSize)}} // the cursor encodes the filters
	}
}

// page reads one page. An entity that does not decode is kept as an empty entity, so that the snapshot counts
// it as skipped and the rest proceeds.
func (c *client) page(ctx context.Context, q url.Values) ([]entity, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(c.baseURL, "/")+"/api/catalog/entities/by-query?"+q.Encode(), nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, "", fmt.Errorf("%w (HTTP %d)", ErrUnauthorized, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, "", fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	var body struct {
		Items    []json.RawMessage `json:"items"`
		PageInfo struct {
			NextCursor string `json:"nextCursor"`
		} `json:"pageInfo"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, "", fmt.Errorf("decode the page: %w", err)
	}
	items := make([]entity, len(body.Items))
	for i, raw := range body.Items {
		if json.Unmarshal(raw, &items[i]) != nil {
			items[i] = entity{} // malformed: skipped
		}
	}
	return items, body.PageInfo.NextCursor, nil
}
