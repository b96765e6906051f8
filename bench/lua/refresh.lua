-- W2: refresh_token grant with rotation. Each answer's new refresh token goes back in the
-- queue, so the grants keep rotating for the whole run. wrk does not pair an answer with its
-- request, so all grants used here belong to one client (the first one in the fixtures).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done
local queue, head, tail, basic

function init(args)
  queue, head, tail = {}, 1, 0
  for _, item in ipairs(common.load("tokens.tsv")) do
    basic = basic or item[1]
    if item[1] == basic then
      tail = tail + 1
      queue[tail] = item[3]
    end
  end
end

function request()
  local token = queue[head]
  if token == nil then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  queue[head] = nil
  head = head + 1
  return wrk.format("POST", "/oauth/token",
    { ["Authorization"] = basic, ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=refresh_token&refresh_token=" .. token)
end

function response(status, headers, body)
  if status == 200 then
    local token = string.match(body, '"refresh_token":"([^"]+)"')
    if token then
      tail = tail + 1
      queue[tail] = token
    end
  end
end
