-- wrk script: every request a new report, so no request is answered as a duplicate.
--
-- wrk -s reports.lua URL -- KIND TAG CITY=TOKEN [CITY=TOKEN ...]
--   KIND  5g-sites (one new site per report), gigabit (all seven indicators) or push (the same
--         facts as a Pushgateway PUT of the city's gauges in the text exposition format)
--   TAG   unique per run, so report and site ids never repeat across runs on one Redis
-- Requests rotate over the cities, each with its own token (a city token writes only its city).
-- done() prints one line "WRK_RESULT {json}" with the counts and the latency histogram, so the
-- histograms of several wrk processes (one per instance) can be merged exactly.

local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_no", thread_count)
end

local kind, tag
local targets = {}
local sent = 0

function init(args)
  kind, tag = args[1], args[2]
  for i = 3, #args do
    local city, token = args[i]:match("^([^=]+)=(.+)$")
    local path, method, content_type
    if kind == "push" then
      path, method, content_type = "/metrics/job/pacer/city/" .. city, "PUT", "text/plain; version=0.0.4"
    else
      path, method, content_type = "/v1/cities/" .. city .. "/reports/" .. kind, "POST", "application/json"
    end
    targets[#targets + 1] = {
      path = path,
      method = method,
      headers = { ["Content-Type"] = content_type, ["Authorization"] = "Bearer " .. token },
    }
  end
end

local function sites_body(id)
  return string.format(
    '{"report_id":"%s","period":"2024-06","as_of":"2024-06-30","sites":[{"site_id":"S%s",'
      .. '"operator":"china_mobile","status":"in_service","commissioned_on":"2024-06-12",'
      .. '"lat":36.651,"lon":117.12,"district":"LX","band":"n41"}]}',
    id, id)
end

local function gigabit_body(id, n)
  return string.format(
    '{"report_id":"%s","period":"2024-06","as_of":"2024-06-30","indicators":{'
      .. '"household_gigabit_coverage_pct":%d.5,"pon_10g_port_share_pct":31.0,'
      .. '"key_location_5g_reach_pct":92.0,"bs_5g_per_10k":21.7,"bb_500m_user_share_pct":35.0,'
      .. '"bb_1000m_users":%d,"user_5g_share_pct":48.0}}',
    id, 80 + n % 40, 1000000 + n)
end

local function push_body(n)
  local lines = {
    "# TYPE pacer_gigabit_indicator_value gauge",
    string.format('pacer_gigabit_indicator_value{indicator="household_gigabit_coverage_pct"} %d.5', 80 + n % 40),
    'pacer_gigabit_indicator_value{indicator="pon_10g_port_share_pct"} 31',
    'pacer_gigabit_indicator_value{indicator="key_location_5g_reach_pct"} 92',
    'pacer_gigabit_indicator_value{indicator="bs_5g_per_10k"} 21.7',
    'pacer_gigabit_indicator_value{indicator="bb_500m_user_share_pct"} 35',
    string.format('pacer_gigabit_indicator_value{indicator="bb_1000m_users"} %d', 1000000 + n),
    'pacer_gigabit_indicator_value{indicator="user_5g_share_pct"} 48',
    "# TYPE pacer_5g_sites_in_service gauge",
    string.format("pacer_5g_sites_in_service %d", 12500 + n),
    "# TYPE pacer_report_last_received_timestamp_seconds gauge",
    string.format("pacer_report_last_received_timestamp_seconds %d", os.time()),
    "",
  }
  return table.concat(lines, "\n")
end

function request()
  sent = sent + 1
  local target = targets[sent % #targets + 1]
  local id = string.format("%s-%d-%d", tag, thread_no, sent)
  local body
  if kind == "5g-sites" then
    body = sites_body(id)
  elseif kind == "gigabit" then
    body = gigabit_body(id, sent)
  else
    body = push_body(sent)
  end
  return wrk.format(target.method, target.path, target.headers, body)
end

function done(summary, latency, requests)
  local buckets = {}
  for i = 1, #latency do
    local micros, count = latency(i)
    buckets[#buckets + 1] = string.format("[%d,%d]", micros, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests":%d,"duration_us":%d,"status_errors":%d,"socket_errors":%d,'
      .. '"timeouts":%d,"histogram_us":[%s]}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write, errors.timeout, table.concat(buckets, ",")))
end
