// Package plugin is the backend of the Insights Collector data source: it maps Grafana's queries onto the
// collector's query API and its answers onto data frames.
package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/grafana/grafana-plugin-sdk-go/backend/httpclient"
	"github.com/grafana/grafana-plugin-sdk-go/backend/instancemgmt"
	"github.com/grafana/grafana-plugin-sdk-go/backend/resource/httpadapter"
	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// ID is the plugin's id (plugin.json).
const ID = "insights-collector-datasource"

// The handlers the data source serves.
var (
	_ backend.QueryDataHandler      = (*Datasource)(nil)
	_ backend.CheckHealthHandler    = (*Datasource)(nil)
	_ backend.CallResourceHandler   = (*Datasource)(nil)
	_ instancemgmt.InstanceDisposer = (*Datasource)(nil)
)

// Datasource is one configured data source: the collector's query API and a bearer token.
type Datasource struct {
	url, token string
	uid        string // the data source's, for the live channel
	client     *http.Client
	cache      *cache
	resources  backend.CallResourceHandler
	liveEvery  time.Duration

	mu      sync.Mutex
	catalog map[string]metricInfo // the collector's metrics, read once (the editor reloads them as resources)
}

// settings are the data source's jsonData.
type settings struct {
	// TimeoutSeconds bounds a query (default 30).
	TimeoutSeconds int `json:"timeoutSeconds"`
	// CacheSeconds keeps an answer for the panels that ask the same (default 15; 0 turns it off with -1).
	CacheSeconds int `json:"cacheSeconds"`
}

const (
	defaultTimeout  = 30 * time.Second
	defaultCacheTTL = 15 * time.Second
	maxAnswerBytes  = 64 << 20
)

// NewDatasource makes a data source from its settings: the URL, TLS and the token (secure JSON data "token").
func NewDatasource(ctx context.Context, s backend.DataSourceInstanceSettings) (instancemgmt.Instance, error) {
	if s.URL == "" {
		return nil, errors.New("set the URL of the collector's query API, e.g. http://localhost:4321")
	}
	if len(s.JSONData) == 0 {
		s.JSONData = []byte("{}") // a data source saved without settings
	}
	var cfg settings
	if err := json.Unmarshal(s.JSONData, &cfg); err != nil {
		return nil, fmt.Errorf("the data source's settings are not valid JSON: %w", err)
	}
	opts, err := s.HTTPClientOptions(ctx)
	if err != nil {
		return nil, fmt.Errorf("HTTP client options: %w", err)
	}
	opts.Timeouts.Timeout = defaultTimeout
	if cfg.TimeoutSeconds > 0 {
		opts.Timeouts.Timeout = time.Duration(cfg.TimeoutSeconds) * time.Second
	}
	client, err := httpclient.New(opts)
	if err != nil {
		return nil, fmt.Errorf("HTTP client: %w", err)
	}
	ttl := defaultCacheTTL
	switch {
	case cfg.CacheSeconds > 0:
		ttl = time.Duration(cfg.CacheSeconds) * time.Second
	case cfg.CacheSeconds < 0:
		ttl = 0
	}
	d := &Datasource{url: strings.TrimRight(s.URL, "/"), token: s.DecryptedSecureJSONData["token"], client: client, cache: newCache(ttl, 1000),
		liveEvery: defaultLiveEvery, uid: s.UID}
	d.resources = httpadapter.New(d.resourceRoutes())
	return d, nil
}

// Dispose drops the connections of a data source whose settings changed.
func (d *Datasource) Dispose() { d.client.CloseIdleConnections() }

// apiError is the query API's error body.
type apiError struct {
	Error struct {
		Code    int    `json:"code"`
		Field   string `json:"field"`
		Message string `json:"message"`
	} `json:"error"`
}

// call sends a request to the query API and returns the body of a 200, or an error a user can act on.
func (d *Datasource) call(ctx context.Context, method, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, method, d.url+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, fmt.Errorf("the URL %q: %w", d.url, err)
	}
	if d.token != "" {
		req.Header.Set("Authorization", "Bearer "+d.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("cannot reach the collector at %s: %w", d.url, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("reading the collector's answer: %w", err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return raw, resp.StatusCode, nil
	case http.StatusUnauthorized:
		return nil, resp.StatusCode, errors.New("the collector refused the token: set the token of a query_api token entry")
	case http.StatusNotFound:
		return nil, resp.StatusCode, fmt.Errorf("no query API at %s: the URL should be the insights_store extension's query_api endpoint", d.url)
	}
	var e apiError
	if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
		if e.Error.Field != "" {
			return nil, resp.StatusCode, fmt.Errorf("%s: %s", e.Error.Field, e.Error.Message)
		}
		return nil, resp.StatusCode, errors.New(e.Error.Message)
	}
	return nil, resp.StatusCode, fmt.Errorf("the collector answered %s", resp.Status)
}

// CheckHealth says whether the query API answers with the token, in words.
func (d *Datasource) CheckHealth(ctx context.Context, _ *backend.CheckHealthRequest) (*backend.CheckHealthResult, error) {
	listing, err := d.metrics(ctx, true)
	if err != nil {
		return &backend.CheckHealthResult{Status: backend.HealthStatusError, Message: err.Error()}, nil
	}
	return &backend.CheckHealthResult{Status: backend.HealthStatusOk,
		Message: fmt.Sprintf("Connected to the collector's query API: %d metrics", len(listing))}, nil
}

// metricInfo is what the data source needs of a metric of GET /api/v1/metrics.
type metricInfo struct {
	Name     string `json:"name"`
	Interval string `json:"interval"` // none, optional, required
}

// metrics returns the collector's metrics, read once (again when fresh is set).
func (d *Datasource) metrics(ctx context.Context, fresh bool) (map[string]metricInfo, error) {
	d.mu.Lock()
	catalog := d.catalog
	d.mu.Unlock()
	if catalog != nil && !fresh {
		return catalog, nil
	}
	raw, _, err := d.call(ctx, http.MethodGet, "/api/v1/metrics", nil)
	if err != nil {
		return nil, err
	}
	var listing struct {
		Metrics []metricInfo `json:"metrics"`
	}
	if err := json.Unmarshal(raw, &listing); err != nil {
		return nil, fmt.Errorf("the collector's metric list is not what the data source expects: %w", err)
	}
	catalog = map[string]metricInfo{}
	for _, m := range listing.Metrics {
		catalog[m.Name] = m
	}
	d.mu.Lock()
	d.catalog = catalog
	d.mu.Unlock()
	return catalog, nil
}

// QueryData answers each query on its own: a bad query fails alone, with a message.
func (d *Datasource) QueryData(ctx context.Context, req *backend.QueryDataRequest) (*backend.QueryDataResponse, error) {
	out := backend.NewQueryDataResponse()
	for _, q := range req.Queries {
		out.Responses[q.RefID] = d.query(ctx, q)
	}
	return out, nil
}

func (d *Datasource) query(ctx context.Context, q backend.DataQuery) backend.DataResponse {
	interval := ""
	if catalog, err := d.metrics(ctx, false); err == nil {
		info, ok := catalog[q.QueryType]
		if !ok && q.QueryType != "" {
			if catalog, err = d.metrics(ctx, true); err == nil { // a metric added since: custom metrics change with the config
				info, ok = catalog[q.QueryType]
			}
		}
		if ok {
			interval = info.Interval
		}
	}
	req, model, err := parseQuery(q, interval)
	if err != nil {
		return backend.ErrDataResponseWithSource(backend.StatusBadRequest, backend.ErrorSourceDownstream, err.Error())
	}
	body, err := json.Marshal(req)
	if err != nil {
		return backend.ErrDataResponse(backend.StatusInternal, err.Error())
	}
	raw, ok := d.cache.get(string(body))
	if !ok {
		var status int
		raw, status, err = d.call(ctx, http.MethodPost, "/api/v1/query", body)
		if err != nil {
			return backend.ErrDataResponseWithSource(backend.Status(statusOr(status, http.StatusBadGateway)), backend.ErrorSourceDownstream, err.Error())
		}
		d.cache.put(string(body), raw)
	}
	var res apiResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return backend.ErrDataResponse(backend.StatusInternal, "the collector's answer is not a result table: "+err.Error())
	}
	format := model.Format
	if (format == "" || format == FormatAuto) && interval == "none" {
		format = FormatTable // a time column of a metric without buckets is an attribute (an event's time), not an axis
	}
	frame, err := toFrame(q.RefID, res, format, string(body))
	if err != nil {
		return backend.ErrDataResponse(backend.StatusBadRequest, err.Error())
	}
	if q.QueryType == livePath && len(model.GroupBy) == 0 { // the panel follows the stream (the totals) from here on
		stampNow(frame)
		frame.Meta.Channel = "ds/" + d.uid + "/" + liveChannelPath(req.Filters)
	}
	return backend.DataResponse{Frames: []*data.Frame{frame}}
}

func statusOr(status, fallback int) int {
	if status == 0 {
		return fallback
	}
	return status
}

// CallResource serves the query editor and the template variables.
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}
