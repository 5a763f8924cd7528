;; The `bench` module sightglass workloads import: `start` and `end` mark the measured
;; region. Preloaded by the sightglass test (`weft run --preload bench=THIS ...`); the
;; markers do nothing here, since the test checks output, not time.
(module
  (func (export "start"))
  (func (export "end")))
