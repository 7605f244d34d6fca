package insightsstore

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/extension/extensiontest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/insights-collector/insights-collector/extension/insightsstore/internal/metadata"
	"github.com/insights-collector/insights-collector/internal/analyticsdb"
	"github.com/insights-collector/insights-collector/internal/loopback"
	"github.com/insights-collector/insights-collector/internal/semconv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestComponentFactoryType(t *testing.T) {
	require.Equal(t, metadata.Type, NewFactory().Type())
}

func TestComponentConfigStruct(t *testing.T) {
	require.NoError(t, componenttest.CheckConfigStruct(NewFactory().CreateDefaultConfig()))
}

func testConfig(t *testing.T) *Config {
	cfg := createDefaultConfig().(*Config)
	cfg.Path = filepath.Join(t.TempDir(), "store", "insights.duckdb")
	addr, err := loopback.FreeAddress()
	require.NoError(t, err)
	server := confighttp.NewDefaultServerConfig()
	server.NetAddr.Endpoint = addr
	cfg.QueryAPI = configoptional.Some(QueryAPIConfig{ServerConfig: server, KAnonymity: 1,
		Tokens: []TokenConfig{{Name: "test", Token: "test-token-0123456789", Role: "admin"}}})
	require.NoError(t, cfg.Validate())
	return cfg
}

func event(id string, ts time.Time) plog.Logs {
	ld := plog.NewLogs()
	lr := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	lr.SetEventName("backstage.click")
	lr.Attributes().PutStr(semconv.AttrEventID, id)
	lr.Attributes().PutStr(semconv.AttrUserID, "user:default/jdoe")
	lr.SetTimestamp(pcommonTime(ts))
	return ld
}

func TestLifecycleWritesAndServes(t *testing.T) {
	cfg := testConfig(t)
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	writer := ext.(Writer)
	_, err = writer.WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0123456789ab", time.Now()))
	assert.ErrorIs(t, err, ErrNotStarted)

	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	res, err := writer.WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0123456789ab", time.Now()))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Stored)

	endpoint := cfg.QueryAPI.Get().ServerConfig.NetAddr.Endpoint
	req, _ := http.NewRequest(http.MethodPost, "http://"+endpoint+"/api/v1/query", strings.NewReader(`{"metric":"live"}`))
	req.Header.Set("Authorization", "Bearer test-token-0123456789")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, ext.Shutdown(context.Background()))
	_, err = writer.WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0123456789ac", time.Now()))
	assert.ErrorIs(t, err, ErrNotStarted)

	// Reopened, the data is there.
	ext, err = NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	res, err = ext.(Writer).WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0123456789ab", time.Now()))
	require.NoError(t, err)
	assert.Equal(t, 1, res.Duplicates)
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestShutdownWithoutStart(t *testing.T) {
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), testConfig(t))
	require.NoError(t, err)
	require.NoError(t, ext.Shutdown(context.Background()))
}

func TestStartFailsOnABusyPort(t *testing.T) {
	cfg := testConfig(t)
	first, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, first.Start(context.Background(), componenttest.NewNopHost()))
	defer first.Shutdown(context.Background())
	second := testConfig(t)
	second.QueryAPI.Get().ServerConfig.NetAddr.Endpoint = cfg.QueryAPI.Get().ServerConfig.NetAddr.Endpoint
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), second)
	require.NoError(t, err)
	assert.ErrorContains(t, ext.Start(context.Background(), componenttest.NewNopHost()), "query API: listen")
}

func TestRetentionRunsAndReports(t *testing.T) {
	cfg := testConfig(t)
	cfg.Retention = 30 * 24 * time.Hour
	ext, err := NewFactory().Create(context.Background(), extensiontest.NewNopSettings(metadata.Type), cfg)
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer ext.Shutdown(context.Background())
	se := ext.(*storeExtension)
	now := time.Now()
	_, err = se.WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0000000000a1", now.AddDate(0, 0, -40)))
	require.NoError(t, err)
	_, err = se.WriteLogs(context.Background(), event("0193a0f0-5b7e-7cde-8f00-0000000000a2", now.AddDate(0, 0, -1)))
	require.NoError(t, err)
	se.runMaintenance(context.Background(), now)
	var n int
	require.NoError(t, se.store.DB().QueryRow(`SELECT count(*) FROM events`).Scan(&n))
	assert.Equal(t, 1, n, "the 40-day-old event is gone, yesterday's stays")
}

func pcommonTime(t time.Time) pcommon.Timestamp { return pcommon.NewTimestampFromTime(t) }

// The maintenance builds the session steps of the days with new page views, and the user sets of the days it
// compacts, and says so when they are many.
func TestMaintenanceBuildsSessionStepsAndUserSets(t *testing.T) {
	core, logs := observer.New(zap.InfoLevel)
	settings := extensiontest.NewNopSettings(metadata.Type)
	settings.Logger = zap.New(core)
	ext, err := NewFactory().Create(context.Background(), settings, testConfig(t))
	require.NoError(t, err)
	require.NoError(t, ext.Start(context.Background(), componenttest.NewNopHost()))
	defer ext.Shutdown(context.Background())
	se := ext.(*storeExtension)
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	start := time.Now().Truncate(24*time.Hour).AddDate(0, 0, -10)
	for day := range 9 { // a session a day
		lr := records.AppendEmpty()
		lr.SetEventName(semconv.EventName(semconv.ActionNavigate))
		ts := start.AddDate(0, 0, day)
		lr.SetTimestamp(pcommonTime(ts))
		require.NoError(t, lr.Attributes().FromRaw(map[string]any{semconv.AttrEventID: fmt.Sprintf("0193a0f0-5b7e-7cde-8f00-0000000001%02d", day),
			semconv.AttrUserID: "user:default/jdoe", semconv.AttrAction: semconv.ActionNavigate, semconv.AttrSubject: "/catalog",
			semconv.AttrPluginID: "catalog", semconv.AttrSessionStartMs: ts.UnixMilli(), semconv.AttrSessionPage: 1, semconv.AttrSessionView: 1}))
	}
	_, err = se.WriteLogs(context.Background(), ld)
	require.NoError(t, err)

	se.runMaintenance(context.Background(), time.Now())
	var n int
	require.NoError(t, se.store.DB().QueryRow(`SELECT count(*) FROM session_steps`).Scan(&n))
	assert.Equal(t, 9, n)
	pending, err := analyticsdb.PendingSessionDays(context.Background(), se.store.DB())
	require.NoError(t, err)
	assert.Empty(t, pending)
	// At least once: the start's own maintenance may have found them too.
	assert.Positive(t, logs.FilterMessage("Building the session steps of the paths metric").FilterField(zap.Int("days", 9)).Len())
	assert.Positive(t, logs.FilterMessage("Session steps built").Len())
	require.NoError(t, se.store.DB().QueryRow(`SELECT count(*) FROM plugin_users`).Scan(&n))
	assert.Equal(t, 9, n, "a day of catalog users a day")
	assert.Positive(t, logs.FilterMessage("Compacting the rollups and building their user sets").FilterField(zap.Int("days", 9)).Len())
	assert.Positive(t, logs.FilterMessage("Rollups compacted").Len())
}
