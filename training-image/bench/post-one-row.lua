-- wrk script: POST one digits row (64 raw pixel values) as JSON, and print one summary line (requests, seconds,
-- latency percentiles in ms, errors) that serve_bench.py and torchserve_bench.py read. The path comes from the
-- URL (/invocations; /predictions/digits for TorchServe).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"instances": [[0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,'
  .. '0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0]]}'

function done(summary, latency, requests)
  local e = summary.errors
  -- e.status counts answers with a status of 400 or more
  io.write(string.format(
    "BENCH requests=%d seconds=%.3f p50_ms=%.3f p99_ms=%.3f errors=%d\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    e.connect + e.read + e.write + e.status + e.timeout))
end
