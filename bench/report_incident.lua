-- wrk script of the intake benchmark: every request reports a new incident (its own title,
-- customer, dedup_key and Idempotency-Key, as bench/incidents.py makes them), so intake
-- deduplicates none; answers are counted by status, and done() prints one JSON line.
-- Arguments after `--`: a run id unique to this wrk run, the incidents' skill.
-- The API key comes from the environment (BENCH_API_KEY), not the command line.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  run_id, skill = args[1], args[2]
  sent, created, repeated, other = 0, 0, 0, 0
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or "")
end

local body_format = '{"title":"Bench incident %s","severity":"medium","required_skills":["%s"],'
  .. '"customer":{"email":"bench-%s@example.com","language":"en"},"dedup_key":"%s"}'

function request()
  sent = sent + 1
  local key = run_id .. "-" .. thread_number .. "-" .. sent
  wrk.headers["Idempotency-Key"] = key
  return wrk.format("POST", nil, nil, string.format(body_format, key, skill, key, key))
end

function response(status, headers, body)
  if status == 201 then
    created = created + 1
  elseif status == 200 then
    repeated = repeated + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local counts = { created = 0, repeated = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(counts) do
      counts[name] = counts[name] + thread:get(name)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"duration_us": %.0f, "requests": %.0f, "created": %.0f, "repeated": %.0f, '
      .. '"other_status": %.0f, "connect_errors": %.0f, "read_errors": %.0f, '
      .. '"write_errors": %.0f, "timeouts": %.0f, "p50_us": %.0f, "p99_us": %.0f, '
      .. '"max_us": %.0f}\n',
    summary.duration, summary.requests, counts.created, counts.repeated, counts.other,
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
