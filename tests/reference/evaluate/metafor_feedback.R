# Reference random-effects fits and BLUPs for rct/evaluate/feedback.py (eb_shrink).
# Re-run from the repository root:  Rscript tests/reference/evaluate/metafor_feedback.R
# Writes metafor_feedback_data.csv (the per-hot-spot log rate ratios and variances) and
# metafor_feedback.csv (tau^2, mu, se(mu) and the BLUPs with their SEs per method).
suppressPackageStartupMessages(library(metafor))
sets <- list(
  # 12 hot spots, heterogeneous
  A = data.frame(yi = c(-0.62, 0.15, -0.31, 0.48, -1.10, -0.05, 0.22, -0.44, 0.90, -0.18, -0.70, 0.05),
                 vi = c(0.10, 0.06, 0.25, 0.08, 0.30, 0.04, 0.15, 0.07, 0.20, 0.05, 0.12, 0.40)),
  # 15 hot spots, moderate heterogeneity, one with a large variance
  C = data.frame(yi = c(-0.35, -0.10, 0.20, -0.60, -0.15, 0.05, -0.45, -0.25, 0.35, -0.05, -0.80, 0.10, -0.30, 0.00, 1.20),
                 vi = c(0.20, 0.15, 0.30, 0.25, 0.10, 0.35, 0.20, 0.12, 0.40, 0.18, 0.50, 0.22, 0.16, 0.28, 3.00)),
  # 20 hot spots, close to homogeneous (tau^2 near or at 0)
  B = data.frame(yi = c(-0.12, -0.20, -0.05, -0.18, -0.25, -0.10, -0.15, -0.08, -0.30, -0.02,
                        -0.14, -0.22, -0.11, -0.16, -0.19, -0.07, -0.13, -0.21, -0.09, -0.17),
                 vi = rep(c(0.3, 0.5, 0.8, 1.1), 5))
)
data_rows <- list(); out <- list()
for (nm in names(sets)) {
  d <- sets[[nm]]
  data_rows[[nm]] <- cbind(set = nm, hotspot = seq_len(nrow(d)), d)
  for (m in c("REML", "DL")) {
    r <- rma(yi, vi, data = d, method = m, control = list(threshold = 1e-12, maxiter = 10000))
    b <- blup(r)
    out[[paste(nm, m)]] <- data.frame(set = nm, method = m, hotspot = seq_len(nrow(d)),
                                      tau2 = r$tau2, mu = as.numeric(r$beta), mu_se = r$se,
                                      pred = b$pred, pred_se = b$se, pi_lb = b$pi.lb,
                                      pi_ub = b$pi.ub)
  }
}
write.csv(do.call(rbind, data_rows), "tests/reference/evaluate/metafor_feedback_data.csv",
          row.names = FALSE)
write.csv(do.call(rbind, out), "tests/reference/evaluate/metafor_feedback.csv", row.names = FALSE)
writeLines(c(R.version.string, paste("metafor", packageVersion("metafor"))),
           "tests/reference/evaluate/metafor_versions.txt")
