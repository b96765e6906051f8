-- W1: authorization_code grant with client_secret_basic; every request spends a fresh code.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done
local items, next_item

function init(args)
  items, next_item = common.load("codes.tsv"), 1
end

function request()
  local item = items[next_item]
  if item == nil then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  next_item = next_item + 1
  return wrk.format("POST", "/oauth/token",
    { ["Authorization"] = item[1], ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=authorization_code&code=" .. item[2] .. "&redirect_uri=" .. common.urlencode(item[3]))
end
