package render

import (
	"math"
	"strconv"
	"strings"
)

// format writes a value in a Grafana unit, as a panel shows it.
func format(v float64, unit string) string {
	switch {
	case unit == "percentunit":
		return trim(v*100, 1) + "%"
	case unit == "ms":
		if v >= 1000 {
			return trim(v/1000, 2) + " s"
		}
		return trim(v, 0) + " ms"
	case unit == "s":
		if v >= 120 {
			return trim(v/60, 1) + " min"
		}
		return trim(v, 1) + " s"
	case unit == "m":
		if v >= 120 {
			return short(v/60) + " h"
		}
		return trim(v, 0) + " min"
	case unit == "h":
		return short(v) + " h"
	case unit == "reqps":
		return significant(v, 3) + " req/s"
	case strings.HasPrefix(unit, "currency"):
		return currencySymbol(strings.TrimPrefix(unit, "currency")) + short(v)
	}
	return short(v)
}

func currencySymbol(code string) string {
	if s, ok := map[string]string{"USD": "$", "EUR": "€", "GBP": "£"}[code]; ok {
		return s
	}
	return code + " "
}

// short writes a count: 12, 3.4k, 5.6M.
func short(v float64) string {
	switch a := math.Abs(v); {
	case a >= 1e6:
		return trim(v/1e6, 2) + "M"
	case a >= 1e4:
		return trim(v/1e3, 1) + "k"
	case a >= 100:
		return trim(v, 0)
	}
	return trim(v, 2)
}

// trim formats with at most the given decimals, without trailing zeros.
func trim(v float64, decimals int) string {
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// significant formats with n significant digits, without an exponent: 0.0000976.
func significant(v float64, n int) string {
	if v == 0 {
		return "0"
	}
	return trim(v, max(0, n-1-int(math.Floor(math.Log10(math.Abs(v))))))
}
