package forecast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// weekly is a Monday-to-Sunday pattern summing to zero: weekdays busy, weekends quiet.
var weekly = []float64{12, 15, 14, 11, 8, -25, -35}

// series returns n days of level + slope·t + the weekly pattern + normal noise of sd.
func series(r *rand.Rand, n int, level, slope, sd float64) []float64 {
	y := make([]float64, n)
	for t := range y {
		y[t] = level + slope*float64(t) + weekly[t%7]
		if r != nil {
			y[t] += r.NormFloat64() * sd
		}
	}
	return y
}

func TestTheRecursionByHand(t *testing.T) {
	// Fixed parameters on a non-seasonal model; every number below is worked out by hand.
	m := &Model{Alpha: 0.5, Beta: 0.25, Phi: 0.9}
	y := []float64{10, 12, 14, 20, 18, 22}
	fitted := m.OneStep(y)
	// Initial state: trend (14-10)/2 = 2, level 10-2 = 8. ŷ1 = 8 + 0.9·2 = 9.8; e = 0.2;
	// l = 9.8 + 0.1 = 9.9; b = 1.8 + 0.05 = 1.85. ŷ2 = 9.9 + 1.665 = 11.565.
	assert.InDelta(t, 9.8, fitted[0], 1e-12)
	assert.InDelta(t, 11.565, fitted[1], 1e-12)
	// Forecast variance: c1 = α + β·φ = 0.725; the 2-step sd is σ·sqrt(1 + 0.725²).
	m.Sigma = 2
	f := m.Forecast(2)
	assert.InDelta(t, z95*2, f[0].Upper95-f[0].Mean, 1e-12)
	assert.InDelta(t, z95*2*math.Sqrt(1+0.725*0.725), f[1].Upper95-f[1].Mean, 1e-12)
	assert.InDelta(t, z80*2*math.Sqrt(1+0.725*0.725), f[1].Upper80-f[1].Mean, 1e-12)
}

func TestAKnownTrendAndSeason(t *testing.T) {
	// A noiseless series: the model must find the season and (damped) trend. Bound: a damped trend falls
	// behind a straight line by at most 14·(1 − 0.98⁷)… in practice under 1.5% over two weeks.
	y := series(nil, 98, 200, 1.5, 0)
	m, err := Fit(y, 7)
	require.NoError(t, err)
	assert.Equal(t, 7, m.Period)
	truth := series(nil, 98+14, 200, 1.5, 0)[98:]
	for h, p := range m.Forecast(14) {
		assert.InDelta(t, truth[h], p.Mean, 0.015*truth[h], "h=%d", h+1)
	}
	// The weekend dip is forecast, not smoothed away.
	f := m.Forecast(7)
	assert.Less(t, f[6].Mean, f[3].Mean-30)
}

func TestBacktestOnANoisySeries(t *testing.T) {
	// 120 days of a growing weekly series with noise of sd 5 on a level near 300; four weeks held out.
	// Bounds stated: WAPE under 4% (the noise alone is ~1.7%), 95% intervals covering at least 80%.
	r := rand.New(rand.NewPCG(1, 2))
	y := series(r, 120, 250, 0.8, 5)
	a, err := Backtest(y, 7, 28)
	require.NoError(t, err)
	require.NotNil(t, a.WAPE)
	assert.Less(t, *a.WAPE, 0.04)
	assert.GreaterOrEqual(t, a.Coverage95, 0.8)
	assert.LessOrEqual(t, a.Coverage80, a.Coverage95)
}

func TestIntervalsAreCalibrated(t *testing.T) {
	// Over many series, the one-week-ahead 95% interval holds the truth about 95% of the time and the 80%
	// interval about 80% (the intervals ignore the parameters' own uncertainty, so slightly under).
	r := rand.New(rand.NewPCG(3, 4))
	var in80, in95, n float64
	for range 150 {
		y := series(r, 84+7, 300, 0.5, 8)
		m, err := Fit(y[:84], 7)
		require.NoError(t, err)
		for h, p := range m.Forecast(7) {
			actual := y[84+h]
			n++
			if actual >= p.Lower80 && actual <= p.Upper80 {
				in80++
			}
			if actual >= p.Lower95 && actual <= p.Upper95 {
				in95++
			}
		}
	}
	t.Logf("coverage: 80%%: %.3f, 95%%: %.3f", in80/n, in95/n)
	assert.InDelta(t, 0.95, in95/n, 0.04, "95%% coverage %.3f", in95/n)
	assert.InDelta(t, 0.80, in80/n, 0.07, "80%% coverage %.3f", in80/n)
}

func TestShortHistories(t *testing.T) {
	_, err := Fit([]float64{1, 2, 3}, 7)
	require.ErrorIs(t, err, ErrTooShort)
	m, err := Fit(series(nil, 15, 100, 1, 0), 7) // two weeks and a day: too short for a season
	require.NoError(t, err)
	assert.Equal(t, 0, m.Period)
	_, err = Backtest(series(nil, 20, 100, 1, 0), 7, 20)
	require.Error(t, err)
}

func BenchmarkFit(b *testing.B) {
	y := series(rand.New(rand.NewPCG(5, 6)), 365, 300, 0.5, 8)
	for b.Loop() {
		if _, err := Fit(y, 7); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFitQuarter(b *testing.B) {
	y := series(rand.New(rand.NewPCG(5, 6)), 90, 300, 0.5, 8)
	for b.Loop() {
		if _, err := Fit(y, 7); err != nil {
			b.Fatal(err)
		}
	}
}
