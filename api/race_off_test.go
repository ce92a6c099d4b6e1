//go:build !race

package api_test

// raceEnabled reports that the race detector is on.
const raceEnabled = false
