package metrics

// RegionCopies registers the counters of artifacts copied into other
// regions' stores and returns what observes one copy: its region and size.
// Called once, by a server that declares regions.
func (m *Metrics) RegionCopies() func(region string, n int64) {
	copies := m.reg.newVec("sluice_region_copies_total",
		"Input artifacts copied from the home region's store into another region's, by region (once per execution, region and artifact).",
		counter, nil, "region")
	bytes := m.reg.newVec("sluice_region_copied_bytes_total",
		"Bytes of input artifacts copied into other regions' stores, by region.",
		counter, nil, "region")
	return func(region string, n int64) {
		copies.add(1, region)
		bytes.add(float64(n), region)
	}
}
