# Reference for rct.power.estimators.crossover_fe_poisson and rate_ratio:
# Poisson GLM with hot-spot fixed effects and cluster-robust (by hot spot) SE.
# Run: Rscript tests/reference/power/crossover_glm.R
# Writes crossover_panel.csv (the data), parallel_data.csv and glm_reference.csv.
library(sandwich)
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
set.seed(20261121)
N <- 20; D <- 30; k <- 7
u <- rgamma(N, shape = 2, scale = 0.5)
tasked <- matrix(0L, N, D)
for (d in 1:D) tasked[sample(N, k), d] <- 1L   # k random hot spots each day (unequal coverage)
mu <- 0.4 * u * ifelse(tasked == 1, 0.8, 1)
y <- matrix(rnbinom(N * D, size = 2, mu = mu), N, D)
panel <- data.frame(hotspot = rep(1:N, times = D), day = rep(1:D, each = N),
                    tasked = as.vector(tasked), crimes = as.vector(y))
write.csv(panel, file.path(here, "crossover_panel.csv"), row.names = FALSE)
fit <- glm(crimes ~ tasked + factor(hotspot), family = poisson, data = panel)
# vcovCL(fit, cluster = ~hotspot, type = "HC0", cadjust = TRUE): G/(G-1) adjustment only
v <- vcovCL(fit, cluster = ~hotspot, type = "HC0", cadjust = TRUE)
ref <- data.frame(what = "crossover_fe_poisson", estimate = coef(fit)[["tasked"]],
                  std_error = sqrt(v["tasked", "tasked"]),
                  model_se = sqrt(vcov(fit)["tasked", "tasked"]))
# parallel: 30 hot spots, 15 treated, totals over 60 days; log rate ratio with HC0 sandwich
z <- sample(rep(0:1, each = 15))
yp <- rnbinom(30, size = 1.5, mu = 12 * ifelse(z == 1, 0.75, 1))
par <- data.frame(treated = z, crimes = yp)
write.csv(par, file.path(here, "parallel_data.csv"), row.names = FALSE)
fp <- glm(crimes ~ treated, family = poisson, data = par)
ref <- rbind(ref, data.frame(what = "rate_ratio_hc0", estimate = coef(fp)[["treated"]],
                  std_error = sqrt(vcovHC(fp, type = "HC0")["treated", "treated"]),
                  model_se = sqrt(vcov(fp)["treated", "treated"])))
write.csv(ref, file.path(here, "glm_reference.csv"), row.names = FALSE)
print(ref, digits = 12)
