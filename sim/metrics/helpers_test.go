package metrics

import "strconv"

func ftoa(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
func itoa(n int) string     { return strconv.Itoa(n) }
