# Exact permutation tests with coin, reference for tests/evaluate/test_ri.py.
# Run: Rscript tests/reference/evaluate/coin_exact.R > tests/reference/evaluate/coin_exact.csv
suppressPackageStartupMessages(library(coin))
out <- data.frame(case = character(), statistic = double(), p_value = double(),
                  stringsAsFactors = FALSE)

# 1. Gerber & Green (2012) Table 2.2 data as in the ri2 vignette: villages 1 and 7 treated.
gg <- data.frame(Z = factor(c(1, 0, 0, 0, 0, 0, 1)), Y = c(15, 15, 20, 20, 10, 15, 30))
t1 <- oneway_test(Y ~ Z, data = gg, distribution = "exact")
out[nrow(out) + 1, ] <- list("gg_table_2_2", statistic(t1), pvalue(t1))

# 2. Blocked design: 3 blocks of 4 units, 2 treated in each (6^3 = 216 assignments).
blk <- data.frame(
  block = factor(rep(c("a", "b", "c"), each = 4)),
  Z = factor(c(1, 0, 1, 0,  0, 1, 1, 0,  1, 1, 0, 0)),
  Y = c(3, 0, 5, 1,  2, 6, 4, 1,  7, 3, 2, 0)
)
t2 <- oneway_test(Y ~ Z | block, data = blk, distribution = "exact")
out[nrow(out) + 1, ] <- list("blocked_3x4", statistic(t2), pvalue(t2))

# 3. Crossover-shaped: 4 hot spots x 3 days, 2 tasked per day (days are blocks), counts.
xo <- data.frame(
  day = factor(rep(1:3, each = 4)),
  Z = factor(c(1, 1, 0, 0,  0, 1, 0, 1,  1, 0, 1, 0)),
  Y = c(0, 1, 2, 3,  1, 0, 2, 1,  0, 1, 0, 4)
)
t3 <- oneway_test(Y ~ Z | day, data = xo, distribution = "exact")
out[nrow(out) + 1, ] <- list("crossover_4x3", statistic(t3), pvalue(t3))

# 4. Complete randomisation, 12 units, 5 treated (792 assignments), one-sided 'less'
cr <- data.frame(Z = factor(c(1, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1, 0), levels = c(0, 1)),
                 Y = c(2, 5, 3, 0, 6, 1, 4, 7, 2, 5, 1, 3))
t4 <- oneway_test(Y ~ Z, data = cr, distribution = "exact")
out[nrow(out) + 1, ] <- list("complete_12_5", statistic(t4), pvalue(t4))
t5 <- oneway_test(Y ~ Z, data = cr, distribution = "exact", alternative = "greater")
out[nrow(out) + 1, ] <- list("complete_12_5_greater", statistic(t5), pvalue(t5))
t6 <- oneway_test(Y ~ Z, data = cr, distribution = "exact", alternative = "less")
out[nrow(out) + 1, ] <- list("complete_12_5_less", statistic(t6), pvalue(t6))

write.csv(out, stdout(), row.names = FALSE)
