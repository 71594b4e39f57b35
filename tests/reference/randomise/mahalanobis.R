# Reference for rct.randomise.rerandomise.MahalanobisScorer (Morgan & Rubin 2012 balance statistic)
# M = (xbar_T - xbar_C)' [S (1/n_T + 1/n_C)]^{-1} (xbar_T - xbar_C), S = cov(X) (divisor N-1).
# Run: Rscript tests/reference/randomise/mahalanobis.R   (from the repository root)
here <- "tests/reference/randomise"
x <- as.matrix(read.csv(file.path(here, "mr_input.csv")))
z <- read.csv(file.path(here, "mr_assign.csv"))
S <- cov(x)
out <- data.frame(assignment = names(z), M = NA_real_)
for (j in seq_along(z)) {
  t <- z[[j]] == 1
  d <- colMeans(x[t, , drop = FALSE]) - colMeans(x[!t, , drop = FALSE])
  out$M[j] <- mahalanobis(d, center = rep(0, ncol(x)), cov = S * (1 / sum(t) + 1 / sum(!t)))
}
write.csv(out, file.path(here, "mahalanobis_R.csv"), row.names = FALSE)
