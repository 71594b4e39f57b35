# Reference values for rct/evaluate estimators (parallel designs, counts, IV).
# Re-run from the repository root:
#   Rscript tests/reference/evaluate/estimators.R
# Writes the fixed datasets (CSV) and estimators_reference.json beside this script.
suppressPackageStartupMessages({
  library(estimatr); library(MASS); library(sandwich); library(jsonlite)
})
here <- "tests/reference/evaluate"
out <- list(versions = list(R = R.version.string,
                            estimatr = as.character(packageVersion("estimatr")),
                            MASS = as.character(packageVersion("MASS")),
                            sandwich = as.character(packageVersion("sandwich"))))

tidy1 <- function(fit, term) {
  s <- tidy(fit); s <- s[s$term == term, ]
  list(estimate = s$estimate, std_error = s$std.error, statistic = s$statistic,
       p_value = s$p.value, conf_low = s$conf.low, conf_high = s$conf.high, df = s$df)
}

# ---- parallel designs ------------------------------------------------------
set.seed(20240501)
n <- 36
par <- data.frame(unit = sprintf("h%02d", 1:n))
par$x1 <- rpois(n, 8)
par$x2 <- round(rnorm(n, 0, 1), 3)
# blocks of unequal size: 8, 12, 16; two treated per four
par$block <- rep(c("A", "B", "C"), times = c(8, 12, 16))
par$z_block <- unlist(lapply(split(seq_len(n), par$block), function(ix) {
  k <- length(ix); sample(rep(0:1, times = c(k - k %/% 2, k %/% 2)))
}))
# complete randomisation (15 treated of 36)
par$z_complete <- sample(rep(0:1, times = c(21, 15)))
# matched pairs: 18 pairs by rank of x1
par$pair <- sprintf("p%02d", rep(1:18, each = 2))[rank(par$x1, ties.method = "first")]
par$z_pair <- ave(seq_len(n), par$pair, FUN = function(ix) sample(0:1))
# mixed: pairs for 5 blocks (10 units) + two blocks of 13 (6 / 7 treated)
par$mixed <- c(sprintf("m%02d", rep(1:5, each = 2)), rep("M6", 13), rep("M7", 13))
par$z_mixed <- ave(seq_len(n), par$mixed, FUN = function(ix) {
  k <- length(ix); sample(rep(0:1, times = c(k - k %/% 2, k %/% 2)))
})
mu <- 2 + 0.5 * par$x1
par$y <- round(mu + rnorm(n, 0, 2) + 1.5 * par$z_complete, 3)
par$y_block <- round(mu + rnorm(n, 0, 2) + 1.5 * par$z_block, 3)
par$y_pair <- round(mu + rnorm(n, 0, 2) + 1.5 * par$z_pair, 3)
par$y_mixed <- round(mu + rnorm(n, 0, 2) + 1.5 * par$z_mixed, 3)
write.csv(par, file.path(here, "parallel.csv"), row.names = FALSE)

dim_c <- difference_in_means(y ~ z_complete, data = par)
dim_b <- difference_in_means(y_block ~ z_block, blocks = block, data = par)
dim_p <- difference_in_means(y_pair ~ z_pair, blocks = pair, data = par)
dim_m <- suppressWarnings(difference_in_means(y_mixed ~ z_mixed, blocks = mixed, data = par))
dim_c90 <- difference_in_means(y ~ z_complete, data = par, alpha = 0.1)
lin1 <- lm_lin(y ~ z_complete, covariates = ~ x1, data = par)
lin2 <- lm_lin(y ~ z_complete, covariates = ~ x1 + x2, data = par)
lin_b <- lm_lin(y_block ~ z_block, covariates = ~ x1 + block, data = par)
out$difference_in_means <- list(
  complete = c(tidy1(dim_c, "z_complete"), design = dim_c$design),
  complete_alpha10 = c(tidy1(dim_c90, "z_complete"), design = dim_c90$design),
  blocked = c(tidy1(dim_b, "z_block"), design = dim_b$design),
  pairs = c(tidy1(dim_p, "z_pair"), design = dim_p$design),
  mixed = c(tidy1(dim_m, "z_mixed"), design = dim_m$design))
out$lm_lin <- list(x1 = tidy1(lin1, "z_complete"), x1_x2 = tidy1(lin2, "z_complete"),
                   block = tidy1(lin_b, "z_block"))

# ---- count models ----------------------------------------------------------
set.seed(7)
m <- 60
cnt <- data.frame(unit = sprintf("c%02d", 1:m), block = rep(sprintf("b%d", 1:6), each = 10))
cnt$baseline <- rnbinom(m, mu = 6, size = 2)
cnt$z <- ave(seq_len(m), cnt$block, FUN = function(ix) sample(rep(0:1, each = length(ix) / 2)))
bfx <- c(b1 = 0, b2 = 0.3, b3 = -0.2, b4 = 0.5, b5 = 0.1, b6 = -0.4)[cnt$block]
cnt$y <- rnbinom(m, mu = exp(0.3 + 0.6 * log1p(cnt$baseline) - 0.35 * cnt$z + bfx), size = 1.5)
cnt$days <- sample(c(28, 30, 31), m, replace = TRUE)
write.csv(cnt, file.path(here, "counts.csv"), row.names = FALSE)
cnt$lb <- log1p(cnt$baseline)

coef_se <- function(fit, V, term = "z", dist = "z", df = NA) {
  b <- unname(coef(fit)[term]); se <- unname(sqrt(diag(V))[term])
  list(estimate = b, std_error = se)
}
pois <- glm(y ~ z + lb + factor(block), family = poisson, data = cnt)
quasi <- glm(y ~ z + lb + factor(block), family = quasipoisson, data = cnt)
nb <- glm.nb(y ~ z + lb + factor(block), data = cnt)
nb_plain <- glm.nb(y ~ z + lb, data = cnt)
pois_off <- glm(y ~ z + lb + offset(log(days)), family = poisson, data = cnt)
sq <- summary(quasi)$coefficients
snb <- summary(nb)$coefficients
snb2 <- summary(nb_plain)$coefficients
out$counts <- list(
  poisson_hc0 = coef_se(pois, vcovHC(pois, type = "HC0")),
  poisson_hc1 = coef_se(pois, vcovHC(pois, type = "HC1")),
  poisson_hc2 = coef_se(pois, vcovHC(pois, type = "HC2")),
  poisson_hc3 = coef_se(pois, vcovHC(pois, type = "HC3")),
  poisson_model = list(estimate = unname(coef(pois)["z"]),
                       std_error = summary(pois)$coefficients["z", 2]),
  quasipoisson = list(estimate = sq["z", 1], std_error = sq["z", 2], statistic = sq["z", 3],
                      p_value = sq["z", 4], dispersion = summary(quasi)$dispersion,
                      df_residual = quasi$df.residual),
  negbin = list(estimate = snb["z", 1], std_error = snb["z", 2], p_value = snb["z", 4],
                theta = nb$theta, theta_se = nb$SE.theta,
                coefficients = unname(coef(nb))),
  negbin_noblocks = list(estimate = snb2["z", 1], std_error = snb2["z", 2], theta = nb_plain$theta),
  poisson_offset_hc0 = coef_se(pois_off, vcovHC(pois_off, type = "HC0")))

# ---- instrumental variables (complier effect of dosage) --------------------
set.seed(99)
k <- 80
iv <- data.frame(unit = sprintf("v%02d", 1:k), z = sample(rep(0:1, each = k / 2)))
iv$x <- round(rnorm(k), 3)
iv$minutes <- round(pmax(0, 20 + 90 * iv$z + 10 * iv$x + rnorm(k, 0, 25)), 1)
iv$y <- round(5 - 0.02 * iv$minutes + 0.8 * iv$x + rnorm(k, 0, 1.5), 3)
write.csv(iv, file.path(here, "iv.csv"), row.names = FALSE)
ivr <- iv_robust(y ~ minutes | z, data = iv, se_type = "HC1", diagnostics = TRUE)
ivr_x <- iv_robust(y ~ minutes + x | z + x, data = iv, se_type = "HC1", diagnostics = TRUE)
ivr_hc0 <- iv_robust(y ~ minutes | z, data = iv, se_type = "HC0")
out$iv_robust <- list(
  hc1 = c(tidy1(ivr, "minutes"), first_stage_f = unname(ivr$diagnostic_first_stage_fstatistic["value"])),
  hc1_x = c(tidy1(ivr_x, "minutes"), first_stage_f = unname(ivr_x$diagnostic_first_stage_fstatistic["value"])),
  hc0 = tidy1(ivr_hc0, "minutes"))
fs <- lm(minutes ~ z + x, data = iv); fs0 <- lm(minutes ~ x, data = iv)
out$iv_robust$partial_r2_x <- (sum(resid(fs0)^2) - sum(resid(fs)^2)) / sum(resid(fs0)^2)

writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE),
           file.path(here, "estimators_reference.json"))
cat("wrote", file.path(here, "estimators_reference.json"), "\n")
