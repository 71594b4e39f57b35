# CR2 (Bell-McCaffrey) cluster-robust SEs with Satterthwaite df for the crossover estimators:
# reference values for tests/evaluate/test_crossover.py (test_*_cr2_*).
# Run: Rscript tests/reference/evaluate/cr2_reference.R > tests/reference/evaluate/cr2_reference.csv
# Input: crossover_panel.csv (12 hot spots x 40 days, 6 tasked a day; synthetic, committed).
suppressPackageStartupMessages(library(clubSandwich))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "crossover_panel.csv"))
d <- d[order(d$hotspot_id, d$trial_date), ]
out <- data.frame(quantity = character(), value = double(), stringsAsFactors = FALSE)
add <- function(q, v) out[nrow(out) + 1, ] <<- list(q, unname(v))
# Poisson fits: IRLS to glm's tolerance, then polished from that solution until the deviance
# stops changing (glm's default stop leaves fitted means ~1e-8 off, which shows in the SEs)
pglm <- function(formula, data) {
  f <- suppressWarnings(glm(formula, family = poisson, data = data,
                            control = glm.control(epsilon = 1e-13, maxit = 200)))
  suppressWarnings(glm(formula, family = poisson, data = data, start = coef(f),
                       control = glm.control(epsilon = 1e-300, maxit = 25)))
}

cr2 <- function(prefix, fit, cluster, coefs) {
  V <- vcovCR(fit, cluster = cluster, type = "CR2")
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite", coefs = coefs)
  for (v in coefs) {
    add(paste0(prefix, "_coef_", v), coef(fit)[v])
    add(paste0(prefix, "_se_", v), ct[v, "SE"])
    add(paste0(prefix, "_df_", v), ct[v, "df_Satt"])
    add(paste0(prefix, "_p_", v), ct[v, "p_Satt"])
  }
}

# two-way FE OLS, crimes and harm
m <- lm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), data = d)
cr2("ols", m, d$hotspot_id, "tasked")
mh <- lm(harm ~ tasked + factor(hotspot_id) + factor(trial_date), data = d)
cr2("ols_harm", mh, d$hotspot_id, "tasked")

# unbalanced panel: every 7th row dropped (Python: panel.drop(index=panel.index[::7]))
du <- d[-seq(1, nrow(d), by = 7), ]
mu <- lm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), data = du)
cr2("ols_unbal", mu, du$hotspot_id, "tasked")

# carryover: lags 1..4 of the schedule within hot spot (0 before the trial)
for (k in 1:4) d[[paste0("lag", k)]] <- ave(d$tasked, d$hotspot_id, FUN = function(z) c(rep(0, k), head(z, -k)))
mc <- lm(crimes ~ tasked + lag1 + lag2 + lag3 + lag4 + factor(hotspot_id) + factor(trial_date), data = d)
cr2("carry", mc, d$hotspot_id, c("tasked", "lag1", "lag2", "lag3", "lag4"))

# two-way FE Poisson.  Hot spot h04 has no crimes: glm sends its effect to -Inf (fitted
# means ~ 0, no weight); it is dropped here as rct drops it (the same fit for the others).
tot <- tapply(d$crimes, d$hotspot_id, sum)
dp <- d[d$hotspot_id %in% names(tot)[tot > 0], ]
p <- pglm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), dp)
cr2("pois", p, dp$hotspot_id, "tasked")
# harm (pseudo-Poisson on a non-negative continuous outcome; glm warns about non-integers)
htot <- tapply(d$harm, d$hotspot_id, sum)
dh <- d[d$hotspot_id %in% names(htot)[htot > 0], ]
ph <- pglm(harm ~ tasked + factor(hotspot_id) + factor(trial_date), dh)
cr2("pois_harm", ph, dh$hotspot_id, "tasked")
# The same fit with harm in thousands: the ratio, its SE and the Satterthwaite df are
# scale-free, but clubSandwich's adjustment inverts W (I - H) W with an absolute eigenvalue
# cut-off (1e-12): with fitted means in the hundreds the zero eigenvalue of each hot spot's
# block (its own dummy) is ~1e-10 of rounding and gets inverted, which distorts the df of the
# unscaled fit.  Rescaled, the cut-off works as intended: these are the exact-arithmetic values.
dh$harm_k <- dh$harm / 1000
phk <- pglm(harm_k ~ tasked + factor(hotspot_id) + factor(trial_date), dh)
cr2("pois_harm_k", phk, dh$hotspot_id, "tasked")
# Poisson with lags
dpl <- d[d$hotspot_id %in% names(tot)[tot > 0], ]
pc <- pglm(crimes ~ tasked + lag1 + lag2 + factor(hotspot_id) + factor(trial_date), dpl)
cr2("pois_lag", pc, dpl$hotspot_id, c("tasked", "lag1", "lag2"))

write.csv(out, stdout(), row.names = FALSE)
cat(sprintf("# R %s, clubSandwich %s\n", getRversion(), packageVersion("clubSandwich")), file = stderr())
