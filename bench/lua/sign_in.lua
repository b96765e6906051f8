-- W7: console sign-in (argon2id) the way the hydrated console posts it, rotating over the
-- accounts bench-signin-1..8 (one account's parallel password checks are throttled, as a
-- guessing burst would be; W7 measures hashing, not the throttle).
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done

local bodies, n = {}, 0

function init(args)
  for i = 1, 8 do
    bodies[i] = "username=bench-signin-" .. i .. "&password=" .. common.urlencode(os.getenv("BENCH_PASSWORD"))
  end
end

function request()
  n = n + 1
  return wrk.format("POST", "/api/sign_in", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Origin"] = os.getenv("BENCH_ORIGIN"),
  }, bodies[(n % 8) + 1])
end
