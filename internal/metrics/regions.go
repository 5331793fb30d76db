package metrics

import "github.com/prometheus/client_golang/prometheus"

// RegionCopies registers the counters of artifacts copied into other
// regions' stores and returns what observes one copy: its region and size.
// Called once, by a server that declares regions.
func (m *Metrics) RegionCopies() func(region string, n int64) {
	copies := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_region_copies_total",
		Help: "Input artifacts copied from the home region's store into another region's, by region (once per execution, region and artifact).",
	}, []string{"region"})
	bytes := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sluice_region_copied_bytes_total",
		Help: "Bytes of input artifacts copied into other regions' stores, by region.",
	}, []string{"region"})
	m.reg.MustRegister(copies, bytes)
	return func(region string, n int64) {
		copies.WithLabelValues(region).Inc()
		bytes.WithLabelValues(region).Add(float64(n))
	}
}
