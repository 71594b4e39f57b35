# Reference values for rct.evaluate.meta_analysis (metafor::rma, predict.rma, weights).
# Re-run from the repository root:
#   Rscript tests/reference/evaluate/metafor_meta.R
# Writes the data sets (metafor_*.csv) and metafor_meta.json beside this script.
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
here <- "tests/reference/evaluate"

# 1. BCG vaccine trials (metafor's dat.bcg), log risk ratios from escalc(measure = "RR").
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg$label <- paste(bcg$author, bcg$year)
# 2. A small set whose Q (0.16 on 4 df) is below its df: DL and REML tau^2 truncate at 0.
zero <- data.frame(label = paste("study", 1:5),
                   yi = c(-0.10, -0.05, -0.12, -0.08, -0.02),
                   vi = c(0.04, 0.05, 0.03, 0.06, 0.045))
# 3. Hot-spot-like crossover trials: crimes on tasked / untasked hot-spot-days and the
#    number of such days; log incidence-rate ratios from escalc(measure = "IRR").
set.seed(20250418)
k <- 8
days_t <- c(720, 630, 2023, 1200, 900, 540, 1500, 810)
days_c <- c(1080, 1260, 2023, 1200, 1350, 540, 1500, 1215)
rate <- c(0.21, 0.09, 0.18, 0.25, 0.12, 0.30, 0.15, 0.20)
irr <- exp(rnorm(k, log(0.85), 0.20))
hot <- data.frame(label = paste("trial", LETTERS[1:k]),
                  events_treated = rpois(k, rate * irr * days_t), exposure_treated = days_t,
                  events_control = rpois(k, rate * days_c), exposure_control = days_c)
hot <- escalc(measure = "IRR", x1i = events_treated, t1i = exposure_treated,
              x2i = events_control, t2i = exposure_control, data = hot)

# 4. Ten trials whose REML maximum is near tau^2 = 0: Fisher scoring needs about 200 steps,
#    so rma() stops at its default maxiter = 100 ("did not converge"); maxiter = 1000 fits.
slow <- data.frame(label = paste("study", 1:10),
                   yi = c(-0.219, -0.284, -0.126, 0.046, -0.394, -0.193, -0.198, 0.019,
                          -0.244, -0.1),
                   vi = c(0.0374, 0.0104, 0.0559, 0.0081, 0.0402, 0.0259, 0.0386, 0.0291,
                          0.0447, 0.0467))
# 5. The two UK hot-spot trials of examples/meta_uk_hotspots.py whose variance can be derived
#    from published figures: London Underground platforms, crimes 88 -> 63 (patrolled) and
#    64 -> 74 (unpatrolled), Wilson's log RIRR; London bus stops, victim-generated crimes
#    +25 % (p = 0.10), SE = log(1.25) / qnorm(1 - 0.10 / 2).
uk <- data.frame(label = c("London Underground platforms", "London bus stops"),
                 yi = c(log((63 / 88) / (74 / 64)), log(1.25)),
                 vi = c(1 / 88 + 1 / 63 + 1 / 64 + 1 / 74, (log(1.25) / qnorm(0.95))^2))

fit1 <- function(d, method, test, level = 95, control = list()) {
  ctl <- if (length(control)) paste0(", control = list(", paste(names(control), unlist(control),
                                     sep = " = ", collapse = ", "), ")") else ""
  call <- paste0("rma(yi, vi, method = \"", method, "\", test = \"", test, "\", level = ",
                 level, ctl, ")")
  r <- tryCatch(rma(yi, vi, data = d, method = method, test = test, level = level,
                    control = control), error = function(e) conditionMessage(e))
  if (is.character(r)) return(list(method = method, test = test, level = level, call = call,
                                    maxiter = if (is.null(control$maxiter)) 100 else control$maxiter,
                                    error = r))
  p <- predict(r)
  list(method = method, test = test, level = level,
       threshold = if (is.null(control$threshold)) 1e-5 else control$threshold,
       maxiter = if (is.null(control$maxiter)) 100 else control$maxiter,
       stepadj = if (is.null(control$stepadj)) 1 else control$stepadj, call = call,
       beta = c(r$beta), se = r$se, zval = r$zval, pval = r$pval, ci_lb = r$ci.lb,
       ci_ub = r$ci.ub, tau2 = r$tau2, se_tau2 = r$se.tau2,
       I2 = r$I2, H2 = r$H2, QE = r$QE, QEp = r$QEp, s2w = r$s2w,
       dfs = r$ddf,
       pi_lb = if (is.null(p$pi.lb)) NA else p$pi.lb,
       pi_ub = if (is.null(p$pi.ub)) NA else p$pi.ub,  # FE: predict() gives no PI
       weights = unname(weights(r)))
}
fits <- function(d) {
  out <- list()
  for (m in c("FE", "DL", "REML")) for (t in c("z", "knha")) {
    out[[paste(m, t, sep = "_")]] <- suppressWarnings(fit1(d, m, t))
  }
  out$REML_z_level90 <- fit1(d, "REML", "z", level = 90)
  out$REML_z_tight <- fit1(d, "REML", "z", control = list(threshold = 1e-10))
  out$REML_z_maxiter1000 <- fit1(d, "REML", "z", control = list(maxiter = 1000))
  out$REML_knha_maxiter1000 <- fit1(d, "REML", "knha", control = list(maxiter = 1000))
  out$REML_z_stepadj0.5 <- fit1(d, "REML", "z", control = list(stepadj = 0.5))
  out
}
sets <- list(bcg = bcg, zero_tau = zero, hotspot = hot, slow_reml = slow, uk_published = uk)
ref <- list(versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))))
for (nm in names(sets)) {
  d <- sets[[nm]]
  ref$datasets[[nm]] <- list(label = d$label, yi = c(d$yi), vi = c(d$vi), fits = fits(d))
}
write.csv(data.frame(bcg)[, c("label", "tpos", "tneg", "cpos", "cneg", "yi", "vi")],
          file.path(here, "metafor_bcg.csv"), row.names = FALSE)
write.csv(data.frame(hot)[, c("label", "events_treated", "exposure_treated", "events_control",
                              "exposure_control", "yi", "vi")],
          file.path(here, "metafor_hotspot.csv"), row.names = FALSE)
write.csv(zero, file.path(here, "metafor_zero_tau.csv"), row.names = FALSE)
write.csv(slow, file.path(here, "metafor_slow_reml.csv"), row.names = FALSE)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE),
           file.path(here, "metafor_meta.json"))
