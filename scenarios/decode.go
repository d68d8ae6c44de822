package scenarios

import (
	"reflect"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stormsim/stormsim/internal/yamlconf"
)

var (
	distType         = reflect.TypeFor[Dist]()
	weightedDistType = reflect.TypeFor[WeightedDist]()
	sizesType        = reflect.TypeFor[Sizes]()
	schedulerType    = reflect.TypeFor[Scheduler]()
	faultType        = reflect.TypeFor[Fault]()
)

// scenarioUnits teaches the strict decoder (internal/yamlconf) a scenario
// file's quantities and defaults.
type scenarioUnits struct{}

var _ yamlconf.Units = scenarioUnits{}

// Struct: bytes under sizes, seconds for every other distribution,
// inherited by mix entries; other sections hold plain numbers.
func (scenarioUnits) Struct(t reflect.Type, outer unit) unit {
	switch t {
	case sizesType:
		return unitBytes
	case distType, weightedDistType:
		if outer == unitNone {
			return unitSeconds
		}
		return outer
	}
	return unitNone
}

func (scenarioUnits) Quantity(s string, u unit) (float64, error) { return parseQuantity(s, u) }

func (scenarioUnits) Want(u unit) string {
	switch u {
	case unitBytes:
		return `a size like 4096 or "4KiB"`
	case unitSeconds:
		return `a number of seconds or a duration like "200ms"`
	case unitFraction:
		return `a fraction like 0.2 or a percentage like "20%"`
	}
	return "a number"
}

func (scenarioUnits) Duration(s string) (time.Duration, error) { return ParseDuration(s) }

func (scenarioUnits) DurationWant() string { return `a duration like "200ms", "1m" or "2d"` }

// New starts a scheduler section or a fault from its defaults.
func (scenarioUnits) New(t reflect.Type) (reflect.Value, bool) {
	v := reflect.New(t).Elem()
	switch t {
	case schedulerType:
		v.Set(reflect.ValueOf(*DefaultScheduler()))
	case faultType:
		v.Set(reflect.ValueOf(defaultFault()))
	default:
		return v, false
	}
	return v, true
}

// Mapping: a distribution given with a kind replaces the default one
// whole.
func (scenarioUnits) Mapping(n *yaml.Node, v reflect.Value) {
	if !yamlconf.HasKey(n, "kind") {
		return
	}
	if v.Type() == distType {
		v.SetZero()
	} else if f := v.FieldByName("Dist"); f.IsValid() && f.Type() == distType {
		f.SetZero()
	}
}
