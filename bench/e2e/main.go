// Command e2e is the end-to-end benchmark of the Backstage receiver: it drives the built otelcol-insights binary
// over loopback with simulated Backstage traffic and reports the collector's CPU seconds per 100k events and its
// peak RSS, for our receiver in every format side by side with a plain `otlp → batch → nop` pipeline on the same
// binary and the same events. Ratios, not absolute times, are the result: both sides run in the same session,
// interleaved, on the same machine.
//
//	go run ./bench/e2e -binary bin/otelcol-insights        (make bench)
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/insights-collector/insights-collector/bench/internal/hostinfo"
	"github.com/insights-collector/insights-collector/internal/loopback"
	"github.com/insights-collector/insights-collector/internal/simulator"
	"github.com/insights-collector/insights-collector/internal/wireformat"
)

// scenario is one pipeline under one load.
type scenario struct {
	name   string
	format wireformat.Format
	plain  bool // the plain otlp receiver instead of ours
	store  bool // into the embedded store (as config/insights.yaml does) instead of the nop exporter
	// processors: through the product's processors (anonymization, sessionization, engagement, cohort with one
	// experiment) before the nop exporter.
	processors bool
	baseline   string // the scenario this one is compared with
}

var scenarios = []scenario{
	{name: "plain-otlp-proto", format: wireformat.FormatOTLP, plain: true},
	{name: "plain-otlp-json", format: wireformat.FormatOTLPJSON, plain: true},
	{name: "backstage-otlp-proto", format: wireformat.FormatOTLP, baseline: "plain-otlp-proto"},
	{name: "backstage-otlp-json", format: wireformat.FormatOTLPJSON, baseline: "plain-otlp-json"},
	{name: "backstage-events", format: wireformat.FormatEvents, baseline: "plain-otlp-json"},
	{name: "backstage-generic", format: wireformat.FormatGeneric, baseline: "plain-otlp-json"},
	{name: "backstage-segment", format: wireformat.FormatSegment, baseline: "plain-otlp-json"},
	{name: "backstage-otlp-proto-store", format: wireformat.FormatOTLP, store: true, baseline: "plain-otlp-proto"},
	{name: "backstage-otlp-proto-processors", format: wireformat.FormatOTLP, processors: true, baseline: "backstage-otlp-proto"},
}

type measurement struct {
	cpuSeconds float64 // the collector's user+system CPU while it took the load
	peakRSS    int64   // bytes (VmHWM)
	wall       time.Duration
}

func main() {
	binary := flag.String("binary", "bin/otelcol-insights", "the collector binary to measure")
	events := flag.Int("events", 200_000, "events per run")
	batch := flag.Int("batch", 100, "events per request")
	runs := flag.Int("runs", 3, "runs per scenario (the median is reported)")
	clients := flag.Int("clients", 4, "concurrent keep-alive clients")
	only := flag.String("only", "", "comma-separated scenario names to run (default: all)")
	flag.Parse()
	if err := run(*binary, *events, *batch, *runs, *clients, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(binary string, nEvents, batchSize, runs, clients int, only string) error {
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("collector binary: %w (run `make build`)", err)
	}
	selected := scenarios
	if only != "" {
		selected = nil
		for _, s := range scenarios {
			if slices.Contains(strings.Split(only, ","), s.name) {
				selected = append(selected, s)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "generating %d simulated events…\n", nEvents)
	occs, err := simulatedEvents(nEvents)
	if err != nil {
		return err
	}
	payloads := map[wireformat.Format][][]byte{}
	for _, s := range selected {
		if _, ok := payloads[s.format]; !ok {
			if payloads[s.format], err = encode(s.format, occs, batchSize); err != nil {
				return err
			}
		}
	}
	results := map[string][]measurement{}
	for r := range runs { // interleaved rounds, so that drift of the machine hits every scenario alike
		for _, s := range selected {
			m, err := measure(binary, s, payloads[s.format], clients)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			fmt.Fprintf(os.Stderr, "round %d/%d %-22s %.2f CPU-s  %.0f MiB  %v\n", r+1, runs, s.name, m.cpuSeconds, float64(m.peakRSS)/(1<<20), m.wall.Round(time.Millisecond))
			results[s.name] = append(results[s.name], m)
		}
	}
	report(os.Stdout, selected, results, nEvents, batchSize, runs, clients)
	return nil
}

// simulatedEvents generates n events of a busy simulated organisation.
func simulatedEvents(n int) ([]wireformat.Occurrence, error) {
	cfg := simulator.DefaultConfig()
	cfg.Users, cfg.Teams, cfg.Days, cfg.Intensity = 2000, 60, 400, 8
	cfg.Start = time.Now().AddDate(0, 0, -cfg.Days)
	world, err := simulator.NewWorld(cfg)
	if err != nil {
		return nil, err
	}
	var occs []wireformat.Occurrence
	for day := 0; len(occs) < n && day < cfg.Days; day++ {
		occs = append(occs, world.Day(day)...)
	}
	if len(occs) < n {
		return nil, fmt.Errorf("the simulation gave only %d events", len(occs))
	}
	return occs[:n], nil
}

func encode(format wireformat.Format, occs []wireformat.Occurrence, batchSize int) ([][]byte, error) {
	var out [][]byte
	for start := 0; start < len(occs); start += batchSize {
		body, err := wireformat.Encode(format, occs[start:min(start+batchSize, len(occs))])
		if err != nil {
			return nil, err
		}
		out = append(out, body)
	}
	return out, nil
}

const benchToken = "bench-token-0123456789"

// config is the collector configuration of a scenario: receiver → batch → nop, or receiver → the embedded store
// with the exporter's queue on disk (as config/insights.yaml has it); internal telemetry off.
func config(s scenario, receiverAddr, healthAddr, dataDir string) string {
	receiver := `  otlp:
    protocols:
      http:
        endpoint: ` + receiverAddr
	name := "otlp"
	if !s.plain {
		receiver = `  backstage:
    endpoint: ` + receiverAddr + `
    max_event_age: 87600h
    credentials:
      - bearer_token: ` + benchToken
		name = "backstage"
	}
	extensions, processors, exporter := "[health_check]", "[batch]", "nop"
	switch {
	case s.store:
		extensions, processors, exporter = "[health_check, file_storage, insights_store]", "[]", "insights_store"
	case s.processors:
		processors = "[batch, anonymization, sessionization, engagement, cohort]"
	}
	return `extensions:
  health_check:
    endpoint: ` + healthAddr + `
  file_storage:
    directory: ` + dataDir + `/queue
    create_directory: true
  insights_store:
    path: ` + dataDir + `/insights.duckdb
receivers:
` + receiver + `
processors:
  batch:
  anonymization:
    keys: [{id: k1, secret: bench-key-bench-key-bench-key-0123}]
  sessionization:
  engagement:
  cohort:
    experiments:
      - key: bench
        variants: [{key: control, weight: 0.5}, {key: treatment, weight: 0.5}]
exporters:
  nop:
  insights_store:
    sending_queue:
      storage: file_storage
service:
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
  extensions: ` + extensions + `
  pipelines:
    logs:
      receivers: [` + name + `]
      processors: ` + processors + `
      exporters: [` + exporter + `]
`
}

func measure(binary string, s scenario, payloads [][]byte, clients int) (measurement, error) {
	dir, err := os.MkdirTemp("", "insights-bench-")
	if err != nil {
		return measurement{}, err
	}
	defer os.RemoveAll(dir)
	receiverAddr, err1 := loopback.FreeAddress()
	healthAddr, err2 := loopback.FreeAddress()
	if err := errors.Join(err1, err2); err != nil {
		return measurement{}, fmt.Errorf("no free loopback port: %w", err)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err = os.WriteFile(cfgPath, []byte(config(s, receiverAddr, healthAddr, dir)), 0o600); err != nil {
		return measurement{}, err
	}
	var stderr bytes.Buffer
	cmd := exec.Command(binary, "--config", cfgPath)
	cmd.Stderr = &stderr
	cmd.Env = append(os.Environ(), "GOMAXPROCS="+strconv.Itoa(runtime.NumCPU()))
	if err := cmd.Start(); err != nil {
		return measurement{}, err
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
		}
	}()
	if err := waitHealthy(healthAddr); err != nil {
		return measurement{}, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	before, err := cpuSeconds(cmd.Process.Pid)
	if err != nil {
		return measurement{}, err
	}
	start := time.Now()
	if err := load(receiverAddr, s, payloads, clients); err != nil {
		return measurement{}, fmt.Errorf("%w\n%s", err, stderr.String())
	}
	wall := time.Since(start)
	after, err := settle(cmd.Process.Pid) // the batch processor and the store's queue finish their work
	if err != nil {
		return measurement{}, err
	}
	rss, err := peakRSS(cmd.Process.Pid)
	if err != nil {
		return measurement{}, err
	}
	return measurement{cpuSeconds: after - before, peakRSS: rss, wall: wall}, nil
}

// load posts every payload from `clients` keep-alive connections; every request must end with a 200.
func load(addr string, s scenario, payloads [][]byte, clients int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}, Timeout: 30 * time.Second}
	url := "http://" + addr + s.format.Path()
	var next, backoffs atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(len(payloads)) {
					return
				}
				if err := post(client, url, s, payloads[i], &backoffs); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		})
	}
	wg.Wait()
	if n := backoffs.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "%s: the collector pushed back %d times (429/503 with Retry-After); every request was retried until accepted\n", s.name, n)
	}
	return firstErr
}

// post sends one payload until it is accepted: 429 and 503 (the collector pushing back while its queue is full)
// are retried after the Retry-After the collector names, as a well-behaved sender does; backoffs counts them.
func post(client *http.Client, url string, s scenario, body []byte, backoffs *atomic.Int64) error {
	for {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", s.format.ContentType())
		if !s.plain {
			req.Header.Set("Authorization", "Bearer "+benchToken)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		respBody, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
			backoffs.Add(1)
			wait, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || wait <= 0 {
				wait = 1
			}
			time.Sleep(time.Duration(wait) * time.Second)
			continue
		case resp.StatusCode != http.StatusOK:
			return fmt.Errorf("status %d: %s", resp.StatusCode, respBody)
		case bytes.Contains(respBody, []byte(`"rejected"`)):
			return fmt.Errorf("events were rejected: %.300s", respBody)
		}
		return nil
	}
}

func waitHealthy(addr string) error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + addr + "/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the collector did not become healthy within 60s")
}

// settle waits until the collector is idle (no CPU tick for a second) and returns its CPU time then.
func settle(pid int) (float64, error) {
	last, err := cpuSeconds(pid)
	for idle := 0; err == nil && idle < 2; {
		time.Sleep(500 * time.Millisecond)
		var now float64
		if now, err = cpuSeconds(pid); now-last < 1.0/clockTicks {
			idle++
		} else {
			idle = 0
		}
		last = now
	}
	return last, err
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's utime and stime (100 on Linux).
const clockTicks = 100

// cpuSeconds reads the process's user+system CPU time from /proc/<pid>/stat.
func cpuSeconds(pid int) (float64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which may contain spaces) start at the last ')'.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+2:]))
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return (utime + stime) / clockTicks, nil
}

// peakRSS reads VmHWM from /proc/<pid>/status.
func peakRSS(pid int) (int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/status")
}

func median(ms []measurement, f func(measurement) float64) float64 {
	vals := make([]float64, len(ms))
	for i, m := range ms {
		vals[i] = f(m)
	}
	slices.Sort(vals)
	return vals[len(vals)/2]
}

func report(w io.Writer, selected []scenario, results map[string][]measurement, nEvents, batchSize, runs, clients int) {
	perEvents := func(name string) float64 {
		return median(results[name], func(m measurement) float64 { return m.cpuSeconds }) / float64(nEvents) * 100_000
	}
	fmt.Fprintf(w, "\n%d events per run, %d per request, %d clients, median of %d runs; %s\n\n", nEvents, batchSize, clients, runs, hostinfo.Describe())
	fmt.Fprintln(w, "| scenario | collector CPU-s per 100k events | peak RSS (MiB) | ratio to | ratio |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range selected {
		rss := median(results[s.name], func(m measurement) float64 { return float64(m.peakRSS) }) / (1 << 20)
		ratio, base := "–", "–"
		if _, ok := results[s.baseline]; ok {
			base = s.baseline
			ratio = fmt.Sprintf("%.2f×", perEvents(s.name)/perEvents(s.baseline))
		}
		fmt.Fprintf(w, "| %s | %.3f | %.0f | %s | %s |\n", s.name, perEvents(s.name), rss, base, ratio)
	}
}
