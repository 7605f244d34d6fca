// Package render draws a dashboard's panels from their query results into a PNG, the way Grafana lays them
// out (the 24-column grid, Grafana's dark theme): there is no Grafana server here, so this is how the README
// shows what each dashboard looks like with real data. It draws the panel types and transformations the
// bundled dashboards use, not every option Grafana has.
package render

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-plugin-sdk-go/data"
)

// Board is the part of a dashboard's JSON that Grafana reads to run and draw its panels.
type Board struct {
	Title string
	Time  struct{ From, To string }
	// Panels keep their targets as raw JSON: they are sent as Grafana sends them.
	Panels     []Panel
	Templating struct {
		List []struct {
			Type, Name string
			Multi      bool
			Query      any
		}
	}
}

// Panel is a panel as the dashboard JSON has it, and the frames its targets answered (set by the caller).
type Panel struct {
	Type, Title string
	// TimeFrom is the panel's own time range ("28d": the last 28 days), instead of the dashboard's.
	TimeFrom        string
	GridPos         struct{ X, Y, W, H int }
	Targets         []json.RawMessage
	Options         map[string]any
	Transformations []Transformation
	FieldConfig     struct {
		Defaults struct {
			Unit    string
			NoValue string
			Max     *float64
			Custom  map[string]any
		}
		Overrides []struct {
			Matcher    struct{ ID, Options any }
			Properties []struct {
				ID    string
				Value any
			}
		}
	}
	// Frames are the targets' answers, in the targets' order.
	Frames []*data.Frame `json:"-"`
}

// Transformation is one of a panel's transformations.
type Transformation struct {
	ID      string         `json:"id"`
	Options map[string]any `json:"options"`
}

// ReadBoard reads a dashboard's JSON.
func ReadBoard(raw []byte) (Board, error) {
	var b Board
	if err := json.Unmarshal(raw, &b); err != nil {
		return b, fmt.Errorf("read the dashboard: %w", err)
	}
	return b, nil
}

// cellTypes are the table cell types a panel's overrides give its fields (gauge, color-background): by field
// name, and for every number field.
func (p Panel) cellTypes() (byName map[string]string, byNumber string) {
	byName = map[string]string{}
	for _, o := range p.FieldConfig.Overrides {
		for _, prop := range o.Properties {
			if prop.ID != "custom.cellOptions" {
				continue
			}
			kind, _ := prop.Value.(map[string]any)["type"].(string)
			switch o.Matcher.ID {
			case "byName":
				name, _ := o.Matcher.Options.(string)
				byName[name] = kind
			case "byType":
				byNumber = kind
			}
		}
	}
	return byName, byNumber
}
