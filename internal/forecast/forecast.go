// Package forecast projects a time series with additive Holt–Winters exponential smoothing and a damped trend
// (ETS(A,Ad,A) in Hyndman et al.'s taxonomy, or ETS(A,Ad,N) without a season), its smoothing parameters fitted
// on the history by least squares, with analytic prediction intervals; and checks itself by a backtest.
//
// The model, for a season of m buckets:
//
//	forecast  ŷ(t+h|t) = l(t) + (φ + φ² + … + φʰ)·b(t) + s(t+h−m·(⌊(h−1)/m⌋+1))
//	error     e(t) = y(t) − ŷ(t|t−1)
//	level     l(t) = l(t−1) + φ·b(t−1) + α·e(t)
//	trend     b(t) = φ·b(t−1) + β·e(t)
//	season    s(t) = s(t−m) + γ·e(t)
//
// with 0 < α < 1, 0 < β < α, 0 < γ < 1 − α and 0.8 ≤ φ ≤ 0.98 (the damping range of R's forecast and fable:
// an undamped trend runs away over a quarter's horizon). The h-step variance is σ²·(1 + Σⱼ₌₁..ₕ₋₁ cⱼ²) with
// cⱼ = α + β·(φ + … + φʲ) + γ·[j mod m = 0] (Hyndman et al., Forecasting with Exponential Smoothing, 2008,
// table 6.1, class 1), σ² the one-step errors' variance.
package forecast

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Model is a fitted model: its parameters and its state at the end of the history.
type Model struct {
	Alpha, Beta, Gamma, Phi float64
	// Period is the season's length in buckets; 0: no season.
	Period int
	// Sigma is the standard deviation of the one-step errors over the history.
	Sigma float64
	// N is how many points it was fitted on.
	N int

	level, trend float64
	season       []float64 // the last Period seasonal terms, a ring: season[next] is the oldest
	next         int
}

// Point is a forecast: the mean and its 80% and 95% prediction intervals.
type Point struct {
	Mean, Lower80, Upper80, Lower95, Upper95 float64
}

// z-scores of the two-sided intervals.
const (
	z80 = 1.2815515655446004
	z95 = 1.959963984540054
)

// MinPoints is the shortest history a model is fitted on; a season needs two whole seasons more.
const MinPoints = 6

// ErrTooShort: the history is too short to fit.
var ErrTooShort = errors.New("too few points")

// Fit fits a model with a season of period buckets (0 or 1: none) to y. With fewer than two whole seasons plus
// MinPoints, the season is dropped (Model.Period says which was fitted).
func Fit(y []float64, period int) (*Model, error) {
	if len(y) < MinPoints {
		return nil, fmt.Errorf("%w: %d, a forecast needs at least %d", ErrTooShort, len(y), MinPoints)
	}
	if period < 2 || len(y) < 2*period+MinPoints {
		period = 0
	}
	best := (*Model)(nil)
	bestSSE := math.Inf(1)
	// Nelder–Mead from a few starts over the unconstrained parameters (see params): the SSE surface of
	// exponential smoothing has flat regions where a single start stalls.
	trial := &Model{}
	for _, start := range [][]float64{{0, -1, -1, 1}, {-2, -2, -2, 2}, {2, -3, -3, 0}} {
		problem := optimize.Problem{Func: func(x []float64) float64 {
			trial.setParams(x, period)
			return trial.sse(y)
		}}
		res, err := optimize.Minimize(problem, start, &optimize.Settings{MajorIterations: 400,
			Converger: &optimize.FunctionConverge{Absolute: 1e-9, Relative: 1e-7, Iterations: 20}}, &optimize.NelderMead{})
		if err != nil && res == nil {
			continue
		}
		if res.F < bestSSE {
			bestSSE, best = res.F, params(res.X, period)
		}
	}
	if best == nil {
		return nil, errors.New("fitting the smoothing parameters failed")
	}
	sse, _ := best.run(y)
	free := 4
	if period > 0 {
		free += period
	}
	best.Sigma = math.Sqrt(sse / float64(max(len(y)-free, 1)))
	best.N = len(y)
	return best, nil
}

// params maps unconstrained numbers onto the admissible region.
func params(x []float64, period int) *Model {
	m := &Model{}
	m.setParams(x, period)
	return m
}

func (m *Model) setParams(x []float64, period int) {
	m.Alpha = 0.0001 + 0.9998*logistic(x[0])
	m.Beta, m.Phi, m.Period, m.Gamma = m.Alpha*logistic(x[1]), 0.8+0.18*logistic(x[3]), period, 0
	if period > 0 {
		m.Gamma = (1 - m.Alpha) * logistic(x[2])
	}
}

func logistic(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// initialise sets the starting state from the first seasons (classical decomposition) or the first points.
func (m *Model) initialise(y []float64) {
	if m.Period == 0 {
		m.trend = (y[2] - y[0]) / 2
		m.level, m.season = y[0]-m.trend, nil // the state before the first point
		return
	}
	p := m.Period
	first, second := mean(y[:p]), mean(y[p:2*p])
	m.level, m.trend, m.next = first, (second-first)/float64(p), 0
	if len(m.season) != p {
		m.season = make([]float64, p)
	}
	for i := range p {
		m.season[i] = y[i] - (first + (float64(i)-float64(p-1)/2)*m.trend)
	}
	// The state before the first point: a step before the first season's start.
	m.level -= (float64(p-1)/2 + 1) * m.trend
}

func mean(y []float64) float64 {
	s := 0.0
	for _, v := range y {
		s += v
	}
	return s / float64(len(y))
}

// sse is run's sum of squared errors, without keeping the forecasts: the objective of the fit.
func (m *Model) sse(y []float64) float64 {
	m.initialise(y)
	sum := 0.0
	for _, v := range y {
		e := v - m.step(v)
		sum += e * e
	}
	return sum
}

// run initialises the model and filters y through it, returning the sum of squared one-step errors and the
// one-step forecasts; the state is left at the end of y.
func (m *Model) run(y []float64) (sse float64, fitted []float64) {
	m.initialise(y)
	fitted = make([]float64, len(y))
	for t, v := range y {
		fitted[t] = m.step(v)
		e := v - fitted[t]
		sse += e * e
	}
	return sse, fitted
}

// step forecasts one bucket ahead, then takes the observation into the state; it returns the forecast.
func (m *Model) step(y float64) float64 {
	s := 0.0
	if m.Period > 0 {
		s = m.season[m.next]
	}
	f := m.level + m.Phi*m.trend + s
	e := y - f
	m.level = m.level + m.Phi*m.trend + m.Alpha*e
	m.trend = m.Phi*m.trend + m.Beta*e
	if m.Period > 0 {
		m.season[m.next] = s + m.Gamma*e // the term of this point of the season, for its next turn
		m.next = (m.next + 1) % m.Period
	}
	return f
}

// Forecast projects h buckets past the end of the history the model was fitted (or last updated) on.
func (m *Model) Forecast(h int) []Point {
	out := make([]Point, h)
	damp, variance := 0.0, 0.0 // φ + … + φʲ, Σ cⱼ²
	for j := 1; j <= h; j++ {
		damp += math.Pow(m.Phi, float64(j))
		mu := m.level + damp*m.trend
		if m.Period > 0 {
			mu += m.season[(m.next+j-1)%m.Period]
		}
		sd := m.Sigma * math.Sqrt(1+variance)
		out[j-1] = Point{Mean: mu, Lower80: mu - z80*sd, Upper80: mu + z80*sd, Lower95: mu - z95*sd, Upper95: mu + z95*sd}
		c := m.Alpha + m.Beta*damp
		if m.Period > 0 && j%m.Period == 0 {
			c += m.Gamma
		}
		variance += c * c
	}
	return out
}

// OneStep returns the one-step forecasts of y by a model of the given parameters, y[0] included (its first
// points from the initial state); the model's state is left at the end of y.
func (m *Model) OneStep(y []float64) []float64 {
	_, fitted := m.run(y)
	return fitted
}

// Accuracy is how a model fitted without the last Holdout points forecast them.
type Accuracy struct {
	Holdout int `json:"holdout"`
	// MAE is the mean absolute error; WAPE the absolute errors' sum over the actuals' (a percentage error that
	// small counts, such as a weekend's few users, do not blow up as they do MAPE; null when the actuals are 0).
	MAE  float64  `json:"mae"`
	WAPE *float64 `json:"wape,omitempty"`
	// Coverage80 and Coverage95: the share of the held-out points inside the 80% and 95% intervals.
	Coverage80 float64 `json:"coverage_80"`
	Coverage95 float64 `json:"coverage_95"`
}

// Backtest fits a model on all but the last holdout points of y and measures its forecast of them.
func Backtest(y []float64, period, holdout int) (Accuracy, error) {
	if holdout < 1 || holdout >= len(y) {
		return Accuracy{}, fmt.Errorf("a backtest holds out 1 to %d points, not %d", len(y)-1, holdout)
	}
	m, err := Fit(y[:len(y)-holdout], period)
	if err != nil {
		return Accuracy{}, err
	}
	a := Accuracy{Holdout: holdout}
	var actuals float64
	for i, p := range m.Forecast(holdout) {
		actual := y[len(y)-holdout+i]
		a.MAE += math.Abs(actual - p.Mean)
		actuals += math.Abs(actual)
		if actual >= p.Lower80 && actual <= p.Upper80 {
			a.Coverage80++
		}
		if actual >= p.Lower95 && actual <= p.Upper95 {
			a.Coverage95++
		}
	}
	if actuals > 0 {
		wape := a.MAE / actuals
		a.WAPE = &wape
	}
	n := float64(holdout)
	a.MAE, a.Coverage80, a.Coverage95 = a.MAE/n, a.Coverage80/n, a.Coverage95/n
	return a, nil
}
