-- W7: console sign-in (argon2id) the way the hydrated console posts it.
local common = dofile(os.getenv("BENCH_LUA") .. "/common.lua")
setup, done = common.setup, common.done

function init(args)
  body = "username=" .. common.urlencode(os.getenv("BENCH_ADMIN")) .. "&password=" .. common.urlencode(os.getenv("BENCH_PASSWORD"))
end

function request()
  return wrk.format("POST", "/api/sign_in", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Accept"] = "application/json",
    ["Origin"] = os.getenv("BENCH_ORIGIN"),
  }, body)
end
