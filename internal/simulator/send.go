package simulator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/plog/plogotlp"

	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// Sender posts batches of events to a Backstage receiver, honouring its back-pressure (429/503 with
// Retry-After) the way a well-behaved analytics module does.
type Sender struct {
	// Endpoint is the receiver's base URL, e.g. http://localhost:4320.
	Endpoint string
	Format   wireformat.Format
	// Path, when set, replaces the format's receiver path (OTLP traces and metrics go to /v1/traces, /v1/metrics).
	Path string
	// Authorization is the Authorization header value ("Bearer …" or "Basic …"); empty sends none.
	Authorization string
	Client        *http.Client
	// MaxAttempts bounds the tries of one batch (back-pressure and network errors).
	MaxAttempts int
}

// SendResult counts what the receiver said about a batch.
type SendResult struct {
	Accepted, Rejected int
	// Retries is how often the batch was retried after back-pressure or a network error.
	Retries int
}

// Send encodes and posts one batch.
func (s *Sender) Send(ctx context.Context, occs []wireformat.Occurrence) (SendResult, error) {
	body, err := wireformat.Encode(s.Format, occs)
	if err != nil {
		return SendResult{}, fmt.Errorf("encode %s: %w", s.Format, err)
	}
	return s.Post(ctx, body, len(occs))
}

// Post posts an encoded batch of n events.
func (s *Sender) Post(ctx context.Context, body []byte, n int) (SendResult, error) {
	var res SendResult
	attempts := max(s.MaxAttempts, 1)
	for attempt := 1; ; attempt++ {
		status, header, respBody, err := s.post(ctx, body)
		var wait time.Duration
		switch {
		case err != nil:
			wait = time.Duration(attempt) * 500 * time.Millisecond
		case status == http.StatusOK:
			res.Rejected = rejectedCount(s.Format, respBody)
			res.Accepted = n - res.Rejected
			return res, nil
		case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
			wait = retryAfter(header)
			err = fmt.Errorf("receiver answered %d", status)
		default:
			return res, fmt.Errorf("receiver answered %d: %s", status, bytes.TrimSpace(respBody))
		}
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		if attempt >= attempts {
			return res, fmt.Errorf("giving up after %d attempts: %w", attempt, err)
		}
		res.Retries++
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func (s *Sender) post(ctx context.Context, body []byte) (int, http.Header, []byte, error) {
	path := s.Path
	if path == "" {
		path = s.Format.Path()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", s.Format.ContentType())
	if s.Authorization != "" {
		req.Header.Set("Authorization", s.Authorization)
	}
	client := s.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	respBody, err := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, respBody, err
}

func retryAfter(h http.Header) time.Duration {
	if secs, err := strconv.Atoi(h.Get("Retry-After")); err == nil && secs > 0 {
		return time.Duration(secs) * time.Second
	}
	return time.Second
}

// rejectedCount reads how many events of an accepted request the receiver rejected.
func rejectedCount(format wireformat.Format, body []byte) int {
	switch format {
	case wireformat.FormatOTLP, wireformat.FormatOTLPJSON:
		resp := plogotlp.NewExportResponse()
		var err error
		if format == wireformat.FormatOTLP {
			err = resp.UnmarshalProto(body)
		} else {
			err = resp.UnmarshalJSON(body)
		}
		if err != nil {
			return 0
		}
		return int(resp.PartialSuccess().RejectedLogRecords())
	default:
		var resp struct {
			Rejected []json.RawMessage `json:"rejected"`
		}
		_ = json.Unmarshal(body, &resp)
		return len(resp.Rejected)
	}
}
