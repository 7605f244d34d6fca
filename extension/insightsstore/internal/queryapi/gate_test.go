package queryapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

func TestGate(t *testing.T) {
	g := newGate(2, 20*time.Millisecond)
	first, err := g.enter(context.Background())
	require.NoError(t, err)
	second, err := g.enter(context.Background())
	require.NoError(t, err)
	_, err = g.enter(context.Background())
	assert.ErrorIs(t, err, errBusy, "full for longer than the wait")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.enter(cancelled)
	assert.ErrorIs(t, err, context.Canceled)
	first()
	third, err := g.enter(context.Background())
	assert.NoError(t, err, "a turn that ends frees its slot")
	second()
	third()

	patient := newGate(1, time.Minute)
	held, err := patient.enter(context.Background())
	require.NoError(t, err)
	waited := make(chan error)
	go func() {
		leave, err := patient.enter(context.Background())
		if err == nil {
			leave()
		}
		waited <- err
	}()
	held()
	assert.NoError(t, <-waited, "the one waiting gets the slot")

	var none *gate
	leave, err := none.enter(context.Background())
	require.NoError(t, err)
	leave()
}

// A query that waited its turn too long gets 503 with Retry-After, and the next one gets through.
func TestBusyStoreAnswers503(t *testing.T) {
	f := setup(t)
	server := NewServer(f.store, []Token{{Secret: viewerToken, Principal: Principal{Name: "grafana", Role: RoleViewer}}}, testK, zap.NewNop())
	server.now = func() time.Time { return queryTo }
	server.gate = newGate(1, 20*time.Millisecond)
	g := *f
	g.server = httptest.NewServer(server.Handler())
	t.Cleanup(g.server.Close)

	leave, err := server.gate.enter(context.Background())
	require.NoError(t, err)
	busy := g.do(t, http.MethodPost, "/api/v1/query", viewerToken, baseRequest("plugin_adoption"))
	assert.Equal(t, http.StatusServiceUnavailable, busy.status)
	assert.Equal(t, "1", busy.header.Get("Retry-After"))
	assert.Contains(t, busy.apiError(t).Message, "busy")
	leave()
	assert.NotEmpty(t, g.query(t, baseRequest("plugin_adoption")).Rows)
}
