# Reference values for tests/evaluate/test_crossover.py.
# Run: Rscript tests/reference/evaluate/crossover_reference.R > tests/reference/evaluate/crossover_reference.csv
# Input: crossover_panel.csv (12 hot spots x 40 days, 6 tasked a day; synthetic, committed).
suppressPackageStartupMessages(library(sandwich))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "crossover_panel.csv"))
out <- data.frame(quantity = character(), value = double(), stringsAsFactors = FALSE)
add <- function(q, v) out[nrow(out) + 1, ] <<- list(q, v)

# Two-way FE OLS, SE clustered by hot spot, HC1 (G/(G-1) (n-1)/(n-k), k counts all dummies)
m <- lm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), data = d)
V <- vcovCL(m, cluster = ~hotspot_id, type = "HC1")
add("fe_ols_coef", coef(m)["tasked"]); add("fe_ols_se_hc1", sqrt(V["tasked", "tasked"]))
mh <- lm(harm ~ tasked + factor(hotspot_id) + factor(trial_date), data = d)
Vh <- vcovCL(mh, cluster = ~hotspot_id, type = "HC1")
add("fe_ols_harm_coef", coef(mh)["tasked"]); add("fe_ols_harm_se_hc1", sqrt(Vh["tasked", "tasked"]))

# Poisson with two-way FE; cluster-robust (HC0 with G/(G-1)) and model-based SE
p <- glm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), family = poisson, data = d)
Vp <- vcovCL(p, cluster = ~hotspot_id, type = "HC0", cadjust = TRUE)
add("fe_pois_coef", coef(p)["tasked"]); add("fe_pois_se_cl", sqrt(Vp["tasked", "tasked"]))
add("fe_pois_se_model", sqrt(vcov(p)["tasked", "tasked"]))

# Carryover: lags 1..4 of the schedule within hot spot (0 before the trial)
d <- d[order(d$hotspot_id, d$trial_date), ]
for (k in 1:4) d[[paste0("lag", k)]] <- ave(d$tasked, d$hotspot_id, FUN = function(z) c(rep(0, k), head(z, -k)))
mc <- lm(crimes ~ tasked + lag1 + lag2 + lag3 + lag4 + factor(hotspot_id) + factor(trial_date), data = d)
Vc <- vcovCL(mc, cluster = ~hotspot_id, type = "HC1")
for (v in c("tasked", "lag1", "lag2", "lag3", "lag4")) {
  add(paste0("carry_coef_", v), coef(mc)[v]); add(paste0("carry_se_", v), sqrt(Vc[v, v]))
}

# Thames Valley simple comparisons
tt <- t.test(d$crimes[d$tasked == 1], d$crimes[d$tasked == 0], var.equal = TRUE)
add("ttest_t", tt$statistic); add("ttest_p", tt$p.value)
add("ttest_lo", tt$conf.int[1]); add("ttest_hi", tt$conf.int[2])
tw <- t.test(d$crimes[d$tasked == 1], d$crimes[d$tasked == 0], var.equal = FALSE)
add("welch_t", tw$statistic); add("welch_p", tw$p.value)
C <- c(sum(d$crimes[d$tasked == 1]), sum(d$crimes[d$tasked == 0]))
n <- c(sum(d$tasked == 1), sum(d$tasked == 0))
cs <- chisq.test(C, p = n / sum(n))
add("chisq_stat", cs$statistic); add("chisq_p", cs$p.value)
pt <- poisson.test(C, n)
add("rr", pt$estimate); add("rr_lo", pt$conf.int[1]); add("rr_hi", pt$conf.int[2])

write.csv(out, stdout(), row.names = FALSE)
