# CR2 (Bell-McCaffrey) SEs with Satterthwaite df on a panel long enough (70 days) that rct
# computes each hot spot's adjustment by Lanczos (clusters of >= 64 observations):
# reference values for tests/evaluate/test_crossover.py (test_*_cr2_long_*).
# Run: Rscript tests/reference/evaluate/cr2_long_reference.R > tests/reference/evaluate/cr2_long_reference.csv
# Input: cr2_long_panel.csv (30 hot spots x 70 days, 15 tasked a day; synthetic, committed).
suppressPackageStartupMessages(library(clubSandwich))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "cr2_long_panel.csv"))
d <- d[order(d$hotspot_id, d$trial_date), ]
out <- data.frame(quantity = character(), value = double(), stringsAsFactors = FALSE)
add <- function(q, v) out[nrow(out) + 1, ] <<- list(q, unname(v))
# Poisson fits polished to the deviance's minimum, as in cr2_reference.R
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
# two-way FE Poisson, crimes
p <- pglm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), d)
cr2("pois", p, d$hotspot_id, "tasked")
# harm in thousands (pseudo-Poisson; see cr2_reference.R on clubSandwich's absolute cut-off)
d$harm_k <- d$harm / 1000
ph <- pglm(harm_k ~ tasked + factor(hotspot_id) + factor(trial_date), d)
cr2("pois_harm_k", ph, d$hotspot_id, "tasked")
# unbalanced OLS (every 20th row dropped: Python panel.drop(index=panel.index[::20])):
# the general (weighted) path, clusters of 66 or 67 rows
du <- d[-seq(1, nrow(d), by = 20), ]
mu <- lm(crimes ~ tasked + factor(hotspot_id) + factor(trial_date), data = du)
cr2("ols_unbal", mu, du$hotspot_id, "tasked")
write.csv(out, stdout(), row.names = FALSE)
cat(sprintf("# R %s, clubSandwich %s\n", getRversion(), packageVersion("clubSandwich")), file = stderr())
