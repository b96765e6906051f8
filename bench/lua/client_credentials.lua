-- W8: the client credentials grant (RFC 6749 §4.4): machine clients, authenticated by HTTP
-- Basic, ask for tokens for themselves, cycling through the pool. W9 runs it with
-- BENCH_MACHINES=jwt-machines.tsv: clients of a site that issues signed JWTs.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done
local items, next_item

function init(args)
  items, next_item = common.load(os.getenv("BENCH_MACHINES") or "machines.tsv"), 0
end

function request()
  local item = items[next_item % #items + 1]
  next_item = next_item + 1
  return wrk.format("POST", "/oauth/token",
    { ["Authorization"] = item[1], ["Content-Type"] = "application/x-www-form-urlencoded" },
    "grant_type=client_credentials")
end
