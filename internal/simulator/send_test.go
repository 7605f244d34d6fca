package simulator

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/insights-collector/insights-collector/internal/wireformat"
)

func someEvents(t *testing.T) []wireformat.Occurrence {
	events := testWorld(t).Day(0)
	require.GreaterOrEqual(t, len(events), 10)
	return events[:10]
}

func TestSenderPostsTheFormat(t *testing.T) {
	for _, format := range wireformat.Formats {
		t.Run(string(format), func(t *testing.T) {
			server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				assert.Equal(t, format.Path(), r.URL.Path)
				assert.Equal(t, format.ContentType(), r.Header.Get("Content-Type"))
				assert.Equal(t, "Bearer tok", r.Header.Get("Authorization"))
				body, _ := io.ReadAll(r.Body)
				assert.NotEmpty(t, body)
				if format == wireformat.FormatOTLP || format == wireformat.FormatOTLPJSON {
					resp := plogotlp.NewExportResponse()
					resp.PartialSuccess().SetRejectedLogRecords(2)
					out, _ := resp.MarshalJSON()
					if format == wireformat.FormatOTLP {
						out, _ = resp.MarshalProto()
					}
					_, _ = w.Write(out)
					return
				}
				_, _ = w.Write([]byte(`{"accepted":8,"rejected":[{"index":1},{"index":2}]}`))
			}))
			defer server.Close()
			s := &Sender{Endpoint: server.URL, Format: format, Authorization: "Bearer tok"}
			res, err := s.Send(context.Background(), someEvents(t))
			require.NoError(t, err)
			assert.Equal(t, SendResult{Accepted: 8, Rejected: 2}, res)
		})
	}
}

func TestSenderHonoursBackPressure(t *testing.T) {
	var calls atomic.Int32
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"accepted":10}`))
	}))
	defer server.Close()
	s := &Sender{Endpoint: server.URL, Format: wireformat.FormatEvents, MaxAttempts: 3}
	start := time.Now()
	res, err := s.Send(context.Background(), someEvents(t))
	require.NoError(t, err)
	assert.Equal(t, SendResult{Accepted: 10, Retries: 1}, res)
	assert.GreaterOrEqual(t, time.Since(start), time.Second, "waited as Retry-After said")
}

func TestSenderGivesUp(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer server.Close()
	s := &Sender{Endpoint: server.URL, Format: wireformat.FormatEvents, MaxAttempts: 1}
	_, err := s.Send(context.Background(), someEvents(t))
	assert.ErrorContains(t, err, "giving up after 1 attempts")
}

func TestSenderReportsClientErrors(t *testing.T) {
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"message":"missing or invalid credentials"}`))
	}))
	defer server.Close()
	s := &Sender{Endpoint: server.URL, Format: wireformat.FormatEvents, MaxAttempts: 5}
	_, err := s.Send(context.Background(), someEvents(t))
	assert.ErrorContains(t, err, "401")
	assert.ErrorContains(t, err, "invalid credentials")
}
