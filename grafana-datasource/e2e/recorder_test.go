package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
	"github.com/stretchr/testify/require"

	"github.com/insights-collector/insights-collector/grafana-datasource/internal/recording"
)

// fixtureRows bounds the rows of a recorded answer: the fixtures test the mapping, not the volume.
const fixtureRows = 24

// recorder stands between the plugin and the query API and keeps what the plugin asks and what the API
// answers, so that the plugin's unit tests run on the real API's answers (pkg/plugin/testdata/metrics): a
// fixture per metric holds the DataQuery Grafana sent, the request the plugin made of it and the answer.
type recorder struct {
	*httptest.Server
	dir      string
	mu       sync.Mutex
	log      []exchange
	recorded map[string]bool
}

// exchange is a request to the query API and its answer.
type exchange struct{ request, answer json.RawMessage }

// newRecorder starts a recorder in front of the query API when dir is set; nil otherwise (its methods then
// do nothing).
func newRecorder(t *testing.T, api, dir string) *recorder {
	if dir == "" {
		return nil
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	r := &recorder{dir: dir, recorded: map[string]bool{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		forward, err := http.NewRequestWithContext(req.Context(), req.Method, api+req.URL.RequestURI(), bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		forward.Header = req.Header.Clone()
		resp, err := http.DefaultClient.Do(forward)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		answer, _ := io.ReadAll(resp.Body)
		switch {
		case req.URL.Path == "/api/v1/query" && resp.StatusCode == http.StatusOK:
			r.mu.Lock()
			trimmed, err := trimRows(answer)
			if err != nil { // the handler runs beside the test: report, do not stop it from here
				t.Errorf("record %s: %v", body, err)
			}
			r.log = append(r.log, exchange{request: body, answer: trimmed})
			r.mu.Unlock()
		case req.URL.Path == "/api/v1/metrics" && resp.StatusCode == http.StatusOK:
			if err := writeIndented(filepath.Join(dir, recording.Catalogue), answer); err != nil {
				t.Errorf("record the catalogue: %v", err)
			}
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = w.Write(answer)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) count() int {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.log)
}

// save writes the fixture of each metric not recorded yet from the queries of a panel, sent since the log
// held seen exchanges (a request per query, in order: the plugin's cache is off).
func (r *recorder) save(t *testing.T, queries []backend.DataQuery, seen int) {
	if r == nil {
		return
	}
	r.mu.Lock()
	sent := append([]exchange(nil), r.log[seen:]...)
	r.mu.Unlock()
	require.Len(t, sent, len(queries), "a request per query")
	for i, q := range queries {
		if r.recorded[q.QueryType] {
			continue
		}
		r.recorded[q.QueryType] = true
		raw, err := json.Marshal(recording.Recording{Request: sent[i].request, Answer: sent[i].answer, Query: recording.Query{
			RefID: q.RefID, QueryType: q.QueryType, JSON: q.JSON, From: q.TimeRange.From, To: q.TimeRange.To, IntervalMS: q.Interval.Milliseconds()}})
		require.NoError(t, err)
		require.NoError(t, writeIndented(filepath.Join(r.dir, q.QueryType+".json"), raw))
	}
}

// trimRows keeps the first fixtureRows rows of an answer.
func trimRows(answer []byte) (json.RawMessage, error) {
	var res map[string]json.RawMessage
	if err := json.Unmarshal(answer, &res); err != nil {
		return nil, err
	}
	var rows []json.RawMessage
	if err := json.Unmarshal(res["rows"], &rows); err != nil {
		return nil, err
	}
	if len(rows) > fixtureRows {
		rows = rows[:fixtureRows]
	}
	res["rows"], _ = json.Marshal(rows)
	return json.Marshal(res)
}

// writeIndented writes JSON indented, as the committed fixtures are.
func writeIndented(path string, raw []byte) error {
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", " "); err != nil {
		return err
	}
	return os.WriteFile(path, append(out.Bytes(), '\n'), 0o644)
}
