# Reference values for rct.power.analytic.ttest_power from R package pwr.
# Run: Rscript tests/reference/power/pwr_ttest.R  (writes pwr_ttest.csv beside it)
library(pwr)
out <- file.path(dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE))), "pwr_ttest.csv")
rows <- list()
add <- function(call, solve, type, alternative, d, n, power, alpha) {
  rows[[length(rows) + 1]] <<- data.frame(call = call, solve = solve, type = type,
    alternative = alternative, d = d, n = n, power = power, alpha = alpha)
}
cases <- list(
  list(type = "two.sample", alt = "two.sided", d = 0.5, n = 30),
  list(type = "two.sample", alt = "greater", d = 0.3, n = 50),
  list(type = "two.sample", alt = "less", d = -0.4, n = 20),
  list(type = "one.sample", alt = "two.sided", d = 0.2, n = 100),
  list(type = "paired", alt = "two.sided", d = 0.35, n = 40)
)
for (cs in cases) {
  r <- pwr.t.test(n = cs$n, d = cs$d, sig.level = 0.05, type = cs$type, alternative = cs$alt)
  add(sprintf("pwr.t.test(n=%g, d=%g, type='%s', alternative='%s')", cs$n, cs$d, cs$type, cs$alt),
      "power", cs$type, cs$alt, cs$d, cs$n, r$power, 0.05)
  r <- pwr.t.test(d = cs$d, power = 0.8, sig.level = 0.05, type = cs$type, alternative = cs$alt)
  add(sprintf("pwr.t.test(d=%g, power=.8, type='%s', alternative='%s')", cs$d, cs$type, cs$alt),
      "n", cs$type, cs$alt, cs$d, r$n, 0.8, 0.05)
}
r <- pwr.t.test(n = 30, power = 0.8, sig.level = 0.05)
add("pwr.t.test(n=30, power=.8)", "d", "two.sample", "two.sided", r$d, 30, 0.8, 0.05)
r <- pwr.t.test(n = 30, d = 0.5, power = 0.8, sig.level = NULL)
add("pwr.t.test(n=30, d=.5, power=.8, sig.level=NULL)", "alpha", "two.sample", "two.sided", 0.5, 30, 0.8, r$sig.level)
res <- do.call(rbind, rows)
write.csv(res, out, row.names = FALSE)
print(format(res, digits = 10))
